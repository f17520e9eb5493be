"""Serving the app with Hypercorn, with a shutdown that does not hang.

Hypercorn 0.18 waits for open streaming responses (SSE) at shutdown forever;
the app's ``gateway.shutdown`` event is set first so streams end themselves.
Two more guards for connections that still will not close:

- ``TCP_USER_TIMEOUT`` on the listening sockets (inherited by accepted ones):
  a client that stops reading while we write is dropped after a few seconds
  instead of holding its connection, and the shutdown, forever.
- a last resort: the server task is cancelled ``FORCE_AFTER`` seconds past
  Hypercorn's graceful timeout.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets

from gateway.app import create_app
from gateway.runtime import preflight
from gateway.settings import Settings

log = logging.getLogger(__name__)

# the path without its query string: OAuth callbacks carry tokens there
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(D)sus'
USER_TIMEOUT_MS = 10_000
FORCE_AFTER = 10.0


class GatewayConfig(Config):
    def create_sockets(self) -> Sockets:
        sockets = super().create_sockets()
        for sock in sockets.insecure_sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and hasattr(socket, "TCP_USER_TIMEOUT"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
        return sockets


def hypercorn_config(host: str, port: int, *, access_log: bool = True) -> Config:
    config = GatewayConfig()
    config.bind = [f"{host}:{port}"]
    # Hypercorn's loggers go through the gateway's own logging setup, once (a "-" here
    # would add a second handler and print every line twice)
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    config.access_log_format = ACCESS_LOG_FORMAT
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    return config


async def run_until_stopped(app: Any, config: Config, stop: asyncio.Event, *, force_after: float = FORCE_AFTER) -> None:
    """Serve ``app`` until ``stop`` is set; never wait more than graceful timeout + ``force_after``."""
    serving = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()  # the server ended on its own: raise why
        return
    try:
        await asyncio.wait_for(serving, config.graceful_timeout + force_after)
    except TimeoutError:
        log.warning("connections were still open %.0f s after shutdown began; closed them",
                    config.graceful_timeout + force_after)


async def serve_gateway(settings: Settings, host: str, port: int) -> None:
    await preflight(settings)  # a wrong URL stops here with one line, not inside Hypercorn's startup
    app = create_app(settings)
    stop = asyncio.Event()
    app.extensions["gateway.shutdown"] = stop
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_until_stopped(app, hypercorn_config(host, port), stop)
