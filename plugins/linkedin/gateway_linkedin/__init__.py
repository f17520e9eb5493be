"""LinkedIn for the social gateway: OAuth 2.0, text shares, threads as comments.

The hooks are plain functions: platform-dispatched ones return ``None`` unless
``ctx.platform`` is ``linkedin`` and a coroutine when it is (see
:mod:`gateway.hookspecs` for why never ``async def``). The work is done in
:mod:`.oauth`, :mod:`.posts` and :mod:`.rules`; :mod:`.fake` imitates LinkedIn
for tests and ``gateway sandbox``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from gateway import hookimpl
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
from gateway_linkedin import oauth, posts, rules
from gateway_linkedin.client import API_URL, AUTH_URL

PLATFORM = rules.PLATFORM

INFO = PlatformInfo(
    name=PLATFORM,
    title="LinkedIn",
    auth_kind="oauth2",
    max_length=rules.MAX_LENGTH,
    # follow-up parts are published as comments by the author on the share
    supports_threads=True,
    max_thread_parts=rules.MAX_THREAD_PARTS,
    settings=(
        SettingSpec("client_id", "Client ID of the LinkedIn app (Developer Portal > Auth)."),
        SettingSpec("client_secret", "Primary client secret of the LinkedIn app.", secret=True),
        SettingSpec("api_url", "Base URL of the LinkedIn REST API.", required=False, default=API_URL),
        SettingSpec(
            "auth_url",
            "Base URL of LinkedIn's OAuth pages and token endpoint, and of post links.",
            required=False,
            default=AUTH_URL,
        ),
        SettingSpec(
            "scope",
            "OAuth scopes to ask for, space-separated. Add r_member_social if the app has it:"
            " it lets the gateway check whether an interrupted publish went out.",
            required=False,
            default=oauth.DEFAULT_SCOPE,
        ),
        SettingSpec(
            "pkce",
            "Send a PKCE S256 challenge (true/false); only some LinkedIn apps accept it.",
            required=False,
            default="false",
        ),
    ),
)


def _ours(ctx: PlatformContext) -> bool:
    return ctx.platform == PLATFORM


@hookimpl
def gateway_platforms() -> list[PlatformInfo]:
    return [INFO]


@hookimpl
def gateway_authorize_start(ctx: PlatformContext) -> Awaitable[AuthStart] | None:
    return oauth.authorize_start(ctx) if _ours(ctx) else None


@hookimpl
def gateway_authorize_finish(
    ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]
) -> Awaitable[AuthResult] | None:
    return oauth.authorize_finish(ctx, params, secrets) if _ours(ctx) else None


@hookimpl
def gateway_refresh_credentials(ctx: PlatformContext, credentials: Credentials) -> Awaitable[Credentials] | None:
    return oauth.refresh(ctx, credentials) if _ours(ctx) else None


@hookimpl
def gateway_validate(draft: Draft) -> list[Problem]:
    return rules.validate(draft) if draft.platform == PLATFORM else []


@hookimpl
def gateway_publish(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[PublishResult] | None:
    return posts.publish(ctx, credentials, request) if _ours(ctx) else None


@hookimpl
def gateway_reconcile(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[ReconcileResult] | None:
    return posts.reconcile(ctx, credentials, request) if _ours(ctx) else None


@hookimpl
def gateway_delete_post(
    ctx: PlatformContext, credentials: Credentials, external_ids: list[str]
) -> Awaitable[None] | None:
    return posts.delete(ctx, credentials, external_ids) if _ours(ctx) else None


def _sandbox_settings(base: str) -> dict[str, str]:
    from gateway_linkedin.fake import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

    return {
        "GATEWAY_LINKEDIN_API_URL": base,
        "GATEWAY_LINKEDIN_AUTH_URL": base,
        "GATEWAY_LINKEDIN_CLIENT_ID": SANDBOX_CLIENT_ID,
        "GATEWAY_LINKEDIN_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        # the sandbox app has the restricted read permission, so reconcile can look
        "GATEWAY_LINKEDIN_SCOPE": "openid profile email w_member_social r_member_social",
    }


def _sandbox_app() -> object:
    from gateway_linkedin.fake import create_fake_linkedin

    return create_fake_linkedin().app


@hookimpl
def gateway_sandbox() -> list[SandboxPlatform]:
    # the fake (Quart) is imported only when a sandbox is asked for
    return [SandboxPlatform(platform=PLATFORM, create_app=_sandbox_app, settings_for=_sandbox_settings)]
