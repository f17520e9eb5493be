"""Example: a tiny platform plugin that lives outside the gateway's repository.

The "Example" platform takes a bearer token and posts JSON to ``{api_url}/posts``.
Everything it needs comes through the hooks' arguments.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Mapping
from urllib.parse import urlencode

import click

from gateway import hookimpl
from gateway.errors import AuthorizationFailed, PermanentError, TransientError
from gateway.types import (
    Account,
    AuthResult,
    AuthStart,
    Credentials,
    Draft,
    PlatformContext,
    PlatformInfo,
    Problem,
    PublishRequest,
    PublishResult,
    SettingSpec,
)

NAME = "example"
LIMIT = 100


@hookimpl
def gateway_platforms() -> list[PlatformInfo]:
    return [
        PlatformInfo(
            name=NAME,
            title="Example",
            auth_kind="oauth2",
            max_length=LIMIT,
            supports_threads=False,
            settings=(SettingSpec("api_url", "Base URL of the Example API"),),
        )
    ]


@hookimpl
def gateway_authorize_start(ctx: PlatformContext) -> Awaitable[AuthStart] | None:
    if ctx.platform != NAME:
        return None

    async def start() -> AuthStart:
        state = secrets.token_urlsafe(16)
        query = urlencode({"state": state, "redirect_uri": ctx.callback_url})
        return AuthStart(f"{ctx.settings['api_url']}/authorize?{query}", state, {"nonce": "n1"})

    return start()


@hookimpl
def gateway_authorize_finish(
    ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]
) -> Awaitable[AuthResult] | None:
    if ctx.platform != NAME:
        return None

    async def finish() -> AuthResult:
        if params.get("error"):
            raise AuthorizationFailed("You declined.", code="access_denied")
        if secrets.get("nonce") != "n1":
            raise AuthorizationFailed("lost the stored secrets")
        return AuthResult(Account(params["user"], params["user"]), Credentials({"token": params["code"]}))

    return finish()


@hookimpl
def gateway_validate(draft: Draft) -> list[Problem]:
    if draft.platform != NAME or len(draft.text) <= LIMIT:
        return []
    return [Problem("text", "too_long", f"Example posts are at most {LIMIT} characters")]


@hookimpl
def gateway_publish(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[PublishResult] | None:
    if ctx.platform != NAME:
        return None

    async def publish() -> PublishResult:
        response = await ctx.http.post(
            f"{ctx.settings['api_url']}/posts",
            json={"text": request.text},
            headers={"Authorization": f"Bearer {credentials.tokens['token']}"},
        )
        if response.status_code >= 500:
            raise TransientError(f"Example answered {response.status_code}")
        if response.status_code != 201:
            raise PermanentError(response.json().get("message", "rejected"), status_code=response.status_code)
        post_id = response.json()["id"]
        return PublishResult(post_id, f"{ctx.settings['api_url']}/posts/{post_id}")

    return publish()


@hookimpl
def gateway_register_commands(cli: click.Group) -> None:
    @cli.command("example-hello")
    def hello() -> None:
        """Say hello from the example plugin."""
        click.echo("hello from a third-party plugin")
