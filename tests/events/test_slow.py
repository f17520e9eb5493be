"""A slow client delays nobody: its queue is bounded, it is cut off and resumes."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx

from gateway.sse import END_OVERFLOW, Filters
from gateway.streaming import Hub
from tests.conftest import Tenant, make_tenant
from tests.events.serving import http_stream, served_gateway
from tests.events.sse import SSEReader, emit


async def test_a_full_queue_ends_that_client_only(runtime, tenant: Tenant, hub: Hub):
    slow = await hub.subscribe(tenant.id, Filters(), limit=5)
    fast = await hub.subscribe(tenant.id, Filters(), limit=5)
    received: list[int] = []
    try:
        for _ in range(12):
            event = await emit(runtime, tenant.id, "post.scheduled")
            async with asyncio.timeout(5):
                while not received or received[-1] != event.id:
                    chunk = await fast.next_chunk()
                    assert chunk is not None
                    received.extend(int(found) for found in re.findall(rb"(?m)^id: (\d+)$", chunk))
    finally:
        hub.unsubscribe(slow)
        hub.unsubscribe(fast)
    assert slow.ended is END_OVERFLOW
    assert not slow.pending  # what it missed comes back through the table on resume
    assert fast.ended is None and len(received) == 12


async def test_a_client_that_stops_reading_is_cut_off_and_resumes_exactly(settings, clean_db):
    """Over real sockets: one client stops reading; the other keeps up; the first resumes."""
    big = "x" * 40_000  # fills the socket buffers in a few dozen events
    count = 160
    async with served_gateway(settings.with_(sse_client_buffer=10)) as served:
        tenant = await make_tenant("acme")
        rt = served.app.extensions["gateway.runtime"]
        stalled = await _raw_stream(served.url, tenant)
        try:
            async with (
                httpx.AsyncClient(timeout=10) as http,
                http_stream(http, f"{served.url}/api/events", tenant.headers) as fast,
            ):
                reading = asyncio.create_task(fast.events(count, timeout=30))
                written = [(await emit(rt, tenant.id, "post.scheduled", payload={"n": n, "pad": big})).id
                           for n in range(count)]
                assert [m.id for m in await reading] == written
                # now the stalled client reads what reached it: a prefix, then the cut
                messages = await SSEReader(_raw_receiver(stalled)).until_end(timeout=30)
        finally:
            stalled[1].close()
            await stalled[1].wait_closed()
        got = [m.id for m in messages if m.id is not None]
        assert messages[-1].comments and messages[-1].comments[0].startswith("overflow")
        assert got == written[: len(got)] and len(got) < count
        async with (
            httpx.AsyncClient(timeout=10) as http,
            http_stream(http, f"{served.url}/api/events",
                        {**tenant.headers, "Last-Event-ID": str(got[-1] if got else 0)}) as resumed,
        ):
            rest = [m.id for m in await resumed.events(count - len(got), timeout=30)]
        assert got + rest == written


async def _raw_stream(base: str, tenant: Tenant) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client with a tiny receive window that sends its request and then does not read."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
    writer.write(
        f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: {tenant.headers['Authorization']}\r\n"
        f"Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


def _raw_receiver(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]):
    """Decode the chunked body of the raw client."""
    reader = stream[0]

    async def receive() -> bytes:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            return b""
        data = await reader.readexactly(size)
        await reader.readexactly(2)
        return data

    return receive


