"""The gateway stops promptly with streams open: they end themselves on the shutdown trigger."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import pytest

from gateway.app import create_app
from gateway.testing import free_port
from tests.conftest import make_tenant
from tests.events.serving import http_stream, served_gateway
from tests.events.sse import emit, open_stream


async def test_shutdown_with_open_streams_returns_within_the_grace_period(settings, clean_db):
    async with served_gateway(settings) as served:
        acme, globex = await make_tenant("acme"), await make_tenant("globex")
        rt = served.app.extensions["gateway.runtime"]
        async with httpx.AsyncClient(timeout=10) as http:
            async with (
                http_stream(http, f"{served.url}/api/events", acme.headers) as one,
                http_stream(http, f"{served.url}/api/events", acme.headers) as two,
                http_stream(http, f"{served.url}/api/events", globex.headers) as three,
            ):
                sent = await emit(rt, acme.id, "post.published")
                assert [m.id for m in await one.events(1)] == [sent.id]
                served.shutdown.set()  # what SIGTERM does in serve_gateway
                await asyncio.wait_for(served.task, served.grace + 1)
                endings = [await stream.until_end() for stream in (one, two, three)]
    for messages in endings:
        assert messages[-1].comments[0].startswith("shutdown")


async def test_stopping_the_app_ends_open_streams(settings, clean_db):
    """Without a server trigger (test_app), the app's own shutdown ends the streams."""
    test_app = create_app(settings).test_app()
    await test_app.startup()
    stopping: asyncio.Task[None] | None = None
    try:
        tenant = await make_tenant("acme")
        async with open_stream(test_app.test_client(), headers=tenant.headers) as stream:
            stopping = asyncio.create_task(test_app.shutdown())
            messages = await stream.until_end()
    finally:
        await asyncio.wait_for(stopping or test_app.shutdown(), 10)
    assert messages[-1].comments[0].startswith("shutdown")


@pytest.mark.slow
async def test_sigterm_stops_gateway_serve_with_streams_open(app, base_env):
    """The real command: `gateway serve`, two open streams, SIGTERM."""
    tenant = await make_tenant("acme")
    port = free_port()
    env = {**os.environ, **base_env, "GATEWAY_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=10) as http:
            await _ready(http, url, process)
            async with (
                http_stream(http, f"{url}/api/events", tenant.headers) as one,
                http_stream(http, f"{url}/api/events", tenant.headers) as two,
            ):
                process.send_signal(signal.SIGTERM)
                endings = [await one.until_end(), await two.until_end()]
        code = await asyncio.wait_for(asyncio.to_thread(process.wait), 5 + 2)  # graceful_timeout + margin
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        errors = process.stderr.read().decode()
        process.stderr.close()
    assert code == 0, errors
    for messages in endings:
        assert messages[-1].comments[0].startswith("shutdown")


async def _ready(http: httpx.AsyncClient, url: str, process: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(30):
        while True:
            assert process.poll() is None, "gateway serve exited at start"
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
