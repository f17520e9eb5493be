"""X (Twitter) for the social gateway: OAuth 1.0a accounts, posts and threads.

Settings (``GATEWAY_TWITTER_*``): ``CONSUMER_KEY`` and ``CONSUMER_SECRET`` (the
app's API key and secret), ``API_URL`` (default ``https://api.x.com``),
``AUTH_URL`` (where ``/oauth/authorize`` lives, default ``https://api.x.com``),
``TIMEOUT`` (seconds per request, default 15).

Platform-dispatched hooks are plain ``def``: they return ``None`` for another
platform and a coroutine for ``twitter`` (see :mod:`gateway.hookspecs`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from gateway import hookimpl
from gateway.errors import AuthExpired
from gateway.types import (
    AuthResult,
    AuthStart,
    Credentials,
    Draft,
    PlatformContext,
    PlatformInfo,
    Problem,
    PublishRequest,
    PublishResult,
    ReconcileResult,
    SandboxPlatform,
    SettingSpec,
)
from gateway_twitter import auth, posts
from gateway_twitter.client import DEFAULT_API_URL, DEFAULT_TIMEOUT
from gateway_twitter.text import MAX_WEIGHTED_LENGTH, problems

PLATFORM = "twitter"
MAX_THREAD_PARTS = 25

INFO = PlatformInfo(
    name=PLATFORM,
    title="X (Twitter)",
    auth_kind="oauth1",
    max_length=MAX_WEIGHTED_LENGTH,
    supports_threads=True,
    max_thread_parts=MAX_THREAD_PARTS,
    settings=(
        SettingSpec("consumer_key", "API key (consumer key) of your X app", secret=True),
        SettingSpec("consumer_secret", "API key secret (consumer secret) of your X app", secret=True),
        SettingSpec("api_url", "Base URL of the X API", required=False, default=DEFAULT_API_URL),
        SettingSpec("auth_url", "Base URL where /oauth/authorize lives", required=False, default=DEFAULT_API_URL),
        SettingSpec("timeout", "Seconds to wait for each X request", required=False, default=str(int(DEFAULT_TIMEOUT))),
    ),
)


def _mine(ctx: PlatformContext) -> bool:
    return ctx.platform == PLATFORM


@hookimpl
def gateway_platforms() -> list[PlatformInfo]:
    return [INFO]


@hookimpl
def gateway_authorize_start(ctx: PlatformContext) -> Awaitable[AuthStart] | None:
    return auth.authorize_start(ctx) if _mine(ctx) else None


@hookimpl
def gateway_authorize_finish(
    ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]
) -> Awaitable[AuthResult] | None:
    return auth.authorize_finish(ctx, params, secrets) if _mine(ctx) else None


async def _cannot_refresh() -> Credentials:
    raise AuthExpired("X access tokens cannot be refreshed; reconnect the account", code="reconnect_required")


@hookimpl
def gateway_refresh_credentials(ctx: PlatformContext, credentials: Credentials) -> Awaitable[Credentials] | None:
    """OAuth 1.0a tokens never expire; a refused one means the user must reconnect."""
    return _cannot_refresh() if _mine(ctx) else None


@hookimpl
def gateway_validate(draft: Draft) -> list[Problem]:
    if draft.platform != PLATFORM:
        return []
    return problems(draft.text, tuple(draft.thread), max_parts=MAX_THREAD_PARTS)


@hookimpl
def gateway_publish(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[PublishResult] | None:
    return posts.publish(ctx, credentials, request) if _mine(ctx) else None


@hookimpl
def gateway_reconcile(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[ReconcileResult] | None:
    return posts.reconcile(ctx, credentials, request) if _mine(ctx) else None


@hookimpl
def gateway_delete_post(
    ctx: PlatformContext, credentials: Credentials, external_ids: list[str]
) -> Awaitable[None] | None:
    return posts.delete_post(ctx, credentials, external_ids) if _mine(ctx) else None


def _sandbox_app() -> Any:
    from gateway_twitter.fake import create_fake_x

    return create_fake_x().app


def _sandbox_settings(base: str) -> dict[str, str]:
    from gateway_twitter.fake import SANDBOX_CONSUMER_KEY, SANDBOX_CONSUMER_SECRET

    return {
        "GATEWAY_TWITTER_API_URL": base,
        "GATEWAY_TWITTER_AUTH_URL": base,
        "GATEWAY_TWITTER_CONSUMER_KEY": SANDBOX_CONSUMER_KEY,
        "GATEWAY_TWITTER_CONSUMER_SECRET": SANDBOX_CONSUMER_SECRET,
    }


@hookimpl
def gateway_sandbox() -> list[SandboxPlatform]:
    return [SandboxPlatform(platform=PLATFORM, create_app=_sandbox_app, settings_for=_sandbox_settings)]
