"""``gateway sandbox``: the plugins' fake platforms on loopback ports."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from gateway.plugins import PluginHost
from gateway.settings import Settings
from gateway.testing import serve_asgi
from gateway.types import SandboxPlatform


def _boxes(settings: Settings) -> list[tuple[int, SandboxPlatform]]:
    host = PluginHost.from_settings(settings)
    return list(enumerate(sorted(host.sandboxes(), key=lambda box: box.platform)))


def sandbox_env(settings: Settings, first_port: int) -> dict[str, str]:
    """The settings that point every plugin at its fake."""
    env: dict[str, str] = {}
    for offset, box in _boxes(settings):
        env.update(box.settings_for(f"http://127.0.0.1:{first_port + offset}"))
    return env


async def run_sandbox(settings: Settings, first_port: int, *, echo: Callable[[str], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    servers = []
    try:
        for offset, box in _boxes(settings):
            port = first_port + offset
            fake = box.create_app()
            app = getattr(fake, "app", fake)
            server = serve_asgi(app, port=port)
            await server.__aenter__()
            servers.append(server)
            echo(f"fake {box.platform} on http://127.0.0.1:{port}")
        echo("point the gateway at them with:  eval \"$(gateway sandbox --env)\"   then: gateway up")
        await stop.wait()
    finally:
        for server in reversed(servers):
            await server.__aexit__(None, None, None)
