"""Serving the real app with Hypercorn on loopback, wired like ``gateway serve``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from hypercorn.asyncio import serve

from gateway.app import create_app
from gateway.server import hypercorn_config
from gateway.settings import Settings
from gateway.testing import free_port, wait_for_port
from tests.events.sse import SSEReader


@dataclass
class Served:
    app: Any
    url: str
    shutdown: asyncio.Event
    task: asyncio.Task[None]
    grace: float


@asynccontextmanager
async def served_gateway(settings: Settings) -> AsyncIterator[Served]:
    """The app served as serve_gateway serves it: ``gateway.shutdown`` is Hypercorn's trigger."""
    app = create_app(settings)
    shutdown = asyncio.Event()
    app.extensions["gateway.shutdown"] = shutdown
    port = free_port()
    config = hypercorn_config("127.0.0.1", port, access_log=False)
    config.errorlog = None
    task: asyncio.Task[None] = asyncio.create_task(serve(app, config, shutdown_trigger=shutdown.wait))  # type: ignore[arg-type]
    served = Served(app, f"http://127.0.0.1:{port}", shutdown, task, float(config.graceful_timeout))
    try:
        await wait_for_port(port, task)
        yield served
    finally:
        shutdown.set()
        await asyncio.wait_for(task, served.grace + 5)


@asynccontextmanager
async def http_stream(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> AsyncIterator[SSEReader]:
    """An SSE stream over a real socket, read with httpx."""
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        chunks = response.aiter_raw()

        async def receive() -> bytes:
            try:
                return bytes(await anext(chunks))
            except StopAsyncIteration:
                return b""

        reader = SSEReader(receive)
        await reader.connected()
        yield reader
