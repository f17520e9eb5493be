"""The plugin contract: every hook a platform plugin may implement.

A plugin is a module of ``@hookimpl`` functions registered under the
``gateway.plugins`` entry-point group. Import the marker from the package root::

    from gateway import hookimpl

**Dispatch by platform.** Hooks that act on one platform receive a
:class:`~gateway.types.PlatformContext` whose ``platform`` names it. An
implementation returns ``None`` when the platform is not its own, so the next
plugin is asked. These hooks are ``firstresult``: the first non-``None`` result
wins.

**Never ``async def`` a first-result hook.** pluggy does not await. An
``async def`` implementation returns a coroutine, which is never ``None``, so
it would win for every platform. Write a plain ``def`` that returns ``None``
for other platforms and a coroutine (or any awaitable) for its own; the gateway
awaits it in one place (:func:`gateway.plugins.PluginHost.call`).

**Errors.** Implementations raise the types in :mod:`gateway.errors`
(``RateLimited``, ``TransientError``, ``AuthExpired``, ``PermanentError``,
``OutcomeUnknown``) so the worker can decide to retry, refresh, give up or
reconcile. Validation problems are returned as data.

**No shared state.** A plugin never touches the database, Redis or the queue.
It gets its settings, an HTTP client and the stored credentials as arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

import click
import pluggy

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
)

PROJECT = "gateway"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gateway_platforms() -> list[PlatformInfo]:
    """Describe the platforms this plugin provides.

    Fires once when the plugin host starts. Return a list (usually of one)
    :class:`~gateway.types.PlatformInfo`: name, title, auth kind, text limit,
    thread support and the settings it reads. All results are collected; two
    plugins claiming the same platform name is a configuration error.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def gateway_authorize_start(ctx: PlatformContext) -> Awaitable[AuthStart] | None:
    """Begin connecting an account: the first leg of OAuth.

    Fires on ``GET /api/auth/{platform}``. ``ctx.callback_url`` is where the
    platform must send the user back. Return ``None`` if ``ctx.platform`` is not
    yours, otherwise an awaitable of :class:`~gateway.types.AuthStart` with the
    URL to send the user to, the key the callback will carry (OAuth 1.0a
    request token or OAuth 2.0 ``state``) and the secrets to keep until then
    (stored encrypted, single-use, for minutes). First result wins.
    """


@hookspec(firstresult=True)
def gateway_authorize_finish(
    ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]
) -> Awaitable[AuthResult] | None:
    """Finish connecting an account: turn the callback into identity + credentials.

    Fires on ``GET /api/auth/{platform}/callback`` after the gateway found and
    consumed the stored state. ``params`` is the callback's query string,
    ``secrets`` what :func:`gateway_authorize_start` asked to keep. Return
    ``None`` if the platform is not yours, otherwise an awaitable of
    :class:`~gateway.types.AuthResult`. Raise
    :class:`~gateway.errors.AuthorizationFailed` when the user refused or the
    platform rejected the exchange. First result wins.
    """


@hookspec(firstresult=True)
def gateway_refresh_credentials(
    ctx: PlatformContext, credentials: Credentials
) -> Awaitable[Credentials] | None:
    """Refresh expired or expiring credentials.

    Fires when a publish raised :class:`~gateway.errors.AuthExpired`, and before
    an access token's expiry. Return ``None`` if the platform is not yours,
    otherwise an awaitable of new :class:`~gateway.types.Credentials`; a token
    the platform did not replace (a refresh token) may be left out and the
    gateway keeps the old one. Raise ``AuthExpired`` when the platform cannot
    refresh (no refresh token, refresh token revoked): the integration then
    needs the user to reconnect. First result wins.
    """


@hookspec
def gateway_validate(draft: Draft) -> list[Problem]:
    """Check a draft against the platform's rules before anything is stored.

    Fires for every draft on ``POST /api/posts`` and ``POST /api/posts/validate``.
    Every plugin is asked and every problem is collected (not first-result), so
    a plugin may also add rules for other platforms. Return an empty list for a
    draft you have nothing to say about. Synchronous: no I/O here.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def gateway_publish(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[PublishResult] | None:
    """Publish one post (and its thread) for one account.

    Fires in the worker's ``PUBLISH_POST`` job, after a ``PublishAttempt`` row
    has been committed. Return ``None`` if the platform is not yours, otherwise
    an awaitable of :class:`~gateway.types.PublishResult`. Continue a thread
    after ``request.progress`` rather than repeating parts already out. Raise
    the :mod:`gateway.errors` type that says what happened; when the request
    may have reached the platform (a timeout after sending, a dropped
    connection) raise :class:`~gateway.errors.OutcomeUnknown`, never a retryable
    error. Attach the ids of parts that did go out as ``progress``. First
    result wins.
    """


@hookspec(firstresult=True)
def gateway_reconcile(
    ctx: PlatformContext, credentials: Credentials, request: PublishRequest
) -> Awaitable[ReconcileResult] | None:
    """Find out whether an attempt whose outcome is unknown did publish. Optional.

    Fires in the worker when an earlier attempt has no recorded outcome (the
    worker died mid-call, or the plugin raised ``OutcomeUnknown``).
    ``request.attempt_started_at`` bounds where to look. Return ``None`` if the
    platform is not yours or you cannot reconcile, otherwise an awaitable of
    :class:`~gateway.types.ReconcileResult`: ``found=True`` with the result,
    ``found=False`` (safe to publish again) or ``found=None`` (cannot tell: the
    post becomes UNKNOWN and the user is asked to check). First result wins.
    """


@hookspec(firstresult=True)
def gateway_delete_post(
    ctx: PlatformContext, credentials: Credentials, external_ids: list[str]
) -> Awaitable[None] | None:
    """Delete a published post (every part of its thread) from the platform. Optional.

    Fires on ``DELETE /api/posts/{id}`` for a published post when the caller
    asks to remove it from the platform too. Return ``None`` if the platform is
    not yours, otherwise an awaitable that completes when the post is gone.
    First result wins.
    """


@hookspec
def gateway_register_commands(cli: click.Group) -> None:
    """Add commands to the ``gateway`` command line. Optional.

    Fires once when the CLI is built. Add commands or groups to ``cli``
    (``@cli.command()``). Every plugin is called.
    """


@hookspec
def gateway_sandbox() -> list[SandboxPlatform]:
    """Provide a fake of your platform for ``gateway sandbox`` and tests. Optional.

    Fires when ``gateway sandbox`` starts or a test asks for fakes. Return a list
    of :class:`~gateway.types.SandboxPlatform`: an ASGI app that imitates the
    platform on loopback (checking what the real one checks) and the settings
    that point your plugin at it. All results are collected.
    """
    raise NotImplementedError
