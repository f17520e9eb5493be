"""The application factory."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from quart import Quart

from gateway.api import connect, errors, events, health, integrations, openapi, pages, platforms, posts
from gateway.plugins import PluginHost
from gateway.runtime import Runtime
from gateway.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, plugins: PluginHost | None = None) -> Quart:
    """Build the gateway's Quart app. Resources open in ``before_serving``.

    ``plugins`` overrides the plugin host built from the settings (tests that
    register a plugin object directly).
    """
    app = Quart("gateway")
    app.config.update(
        SECRET_KEY=settings.secret_key or _derived_secret(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["gateway.settings"] = settings

    @app.before_serving
    async def open_runtime() -> None:
        app.extensions["gateway.runtime"] = await Runtime.open(settings, plugins=plugins)

    @app.after_serving
    async def close_runtime() -> None:
        rt: Runtime | None = app.extensions.pop("gateway.runtime", None)
        if rt is not None:
            await rt.close()

    errors.register_error_handlers(app)
    for blueprint in (
        health.blueprint,
        openapi.blueprint,
        pages.blueprint,
        platforms.blueprint,
        integrations.blueprint,
        connect.api_blueprint,
        connect.callback_blueprint,
        events.blueprint,
        posts.blueprint,
    ):
        app.register_blueprint(blueprint)
    return app


def _derived_secret(settings: Settings) -> Any:
    """Without GATEWAY_SECRET_KEY, sign sessions with a key derived from the encryption key."""
    keys = settings.require_keys()
    return hashlib.sha256(b"gateway-session:" + keys[0].secret).hexdigest()
