"""Helpers for tests, ours and plugin authors': serve an ASGI app on loopback.

The fakes of the platforms are ASGI apps; tests run them for real on a
loopback port with Hypercorn so that the plugins' real HTTP code talks to them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_asgi(app: Any, *, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 for the duration of the block; yields its base URL."""
    port = port or free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        await wait_for_port(port, task)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await task


async def wait_for_port(port: int, task: asyncio.Task[Any]) -> None:
    """Wait until something listens on ``port``; raise why ``task`` (the server) ended if it did."""
    for _ in range(500):
        if task.done():
            task.result()  # raises the reason it could not start
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nothing is listening on 127.0.0.1:{port}")


class AppSlot:
    """An ASGI app that forwards to whichever app is in the slot right now.

    Serve the slot once (one port for a whole test session) and put a fresh
    fake in it for each test: fresh state without a new server per test. It
    answers the server's lifespan messages itself; with nothing in the slot,
    requests get a 503.
    """

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if self.app is None:
            await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"no fake platform in this slot"})
            return
        await self.app(scope, receive, send)
