"""A connection that never lets go cannot hold `gateway serve` open forever."""

from __future__ import annotations

import asyncio
import socket

from gateway.server import hypercorn_config, run_until_stopped
from gateway.testing import free_port


async def stubborn_app(scope, receive, send):
    """Streams forever and ignores the server's shutdown: the worst client-facing handler."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    while True:
        try:
            await send({"type": "http.response.body", "body": b": tick\n\n", "more_body": True})
        except Exception:  # the connection is gone: keep "streaming" regardless
            pass
        await asyncio.sleep(0.05)


async def test_shutdown_ends_even_with_a_stuck_stream():
    port = free_port()
    config = hypercorn_config("127.0.0.1", port, access_log=False)
    config.graceful_timeout = 0.5
    stop = asyncio.Event()
    server = asyncio.create_task(run_until_stopped(stubborn_app, config, stop, force_after=0.5))
    for _ in range(200):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.02)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert b"200" in await reader.readline()  # the stream is open
    stop.set()
    await asyncio.wait_for(server, 30)  # returns, instead of waiting for the stream forever
    writer.close()


def test_listening_sockets_drop_clients_that_stop_reading():
    config = hypercorn_config("127.0.0.1", free_port(), access_log=False)
    sockets = config.create_sockets()
    try:
        sock = sockets.insecure_sockets[0]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) > 0
    finally:
        for sock in sockets.insecure_sockets:
            sock.close()
