"""Serving the app with Hypercorn, with a shutdown that does not hang.

Hypercorn 0.18 waits for open streaming responses (SSE) at shutdown forever;
the app's ``gateway.shutdown`` event is set first so streams end themselves.
"""

from __future__ import annotations

import asyncio
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from gateway.app import create_app
from gateway.runtime import preflight
from gateway.settings import Settings

# the path without its query string: OAuth callbacks carry tokens there
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(D)sus'


def hypercorn_config(host: str, port: int, *, access_log: bool = True) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = "-" if access_log else None
    config.access_log_format = ACCESS_LOG_FORMAT
    config.errorlog = "-"
    config.graceful_timeout = 5
    return config


async def serve_gateway(settings: Settings, host: str, port: int) -> None:
    await preflight(settings)  # a wrong URL stops here with one line, not inside Hypercorn's startup
    app = create_app(settings)
    stop = asyncio.Event()
    app.extensions["gateway.shutdown"] = stop
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(app, hypercorn_config(host, port), shutdown_trigger=stop.wait)
