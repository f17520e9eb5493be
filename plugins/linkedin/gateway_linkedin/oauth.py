"""LinkedIn's OAuth 2.0 authorization-code flow, its refresh grant, and the member's identity.

The authorization page and the token endpoint live on ``www.linkedin.com``
(the ``auth_url`` setting), the member's identity on ``api.linkedin.com``
(``GET /v2/userinfo``, from the OpenID Connect product). Authlib provides the
PKCE verifier and challenge; the HTTP goes through the gateway's own
``httpx.AsyncClient`` (``ctx.http``), never through Authlib's client classes,
which prefer ``httpx2`` once it is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe
from typing import Any
from urllib.parse import quote, urlencode

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from gateway.errors import AuthExpired, AuthorizationFailed, PermanentError, PlatformError, TransientError
from gateway.types import Account, AuthResult, AuthStart, Credentials, PlatformContext
from gateway_linkedin.client import api_url, auth_url, error_for, json_body, linkedin_message, send

DEFAULT_SCOPE = "openid profile w_member_social"

CLIENT_HINT = "The gateway's GATEWAY_LINKEDIN_CLIENT_ID and GATEWAY_LINKEDIN_CLIENT_SECRET need checking."

#: the ``error`` values LinkedIn sends back when the member says no
CANCELLED = {"user_cancelled_authorize", "user_cancelled_login", "access_denied"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def token_url(ctx: PlatformContext) -> str:
    return f"{auth_url(ctx)}/oauth/v2/accessToken"


def _client(ctx: PlatformContext) -> dict[str, str]:
    return {"client_id": ctx.settings["client_id"], "client_secret": ctx.settings["client_secret"]}


async def authorize_start(ctx: PlatformContext) -> AuthStart:
    """Build the authorization URL; keep the redirect URI (and PKCE verifier) for the callback."""
    state = token_urlsafe(32)  # 256 random bits
    scope = " ".join((ctx.settings.get("scope") or DEFAULT_SCOPE).replace(",", " ").split())
    query = {
        "response_type": "code",
        "client_id": ctx.settings["client_id"],
        "redirect_uri": ctx.callback_url,
        "state": state,
        "scope": scope,
    }
    kept = {"redirect_uri": ctx.callback_url}
    if _flag(ctx.settings.get("pkce")):
        verifier = generate_token(64)
        query["code_challenge"] = create_s256_code_challenge(verifier)
        query["code_challenge_method"] = "S256"
        kept["code_verifier"] = verifier
    # quote, not quote_plus: spaces go out as %20, as LinkedIn documents scope=openid%20profile
    url = f"{auth_url(ctx)}/oauth/v2/authorization?{urlencode(query, quote_via=quote)}"
    return AuthStart(authorize_url=url, state_key=state, secrets=kept)


async def authorize_finish(ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]) -> AuthResult:
    """Turn the callback into the member's identity and tokens."""
    error = params.get("error")
    if error:
        if error in CANCELLED:
            raise AuthorizationFailed("You cancelled the LinkedIn authorization.", code="access_denied")
        reason = params.get("error_description") or error
        raise AuthorizationFailed(f"LinkedIn refused the authorization: {reason}", details={"error": error})
    code = params.get("code")
    if not code:
        raise AuthorizationFailed("LinkedIn sent no authorization code back.")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": secrets.get("redirect_uri") or ctx.callback_url,
        **_client(ctx),
    }
    if secrets.get("code_verifier"):
        form["code_verifier"] = secrets["code_verifier"]
    now = datetime.now(UTC)
    try:
        response = await send(ctx, "POST", token_url(ctx), mutating=False, data=form)
    except PlatformError as exc:
        raise AuthorizationFailed(
            f"Could not reach LinkedIn to finish the connection; try again. ({exc.message})",
            code="platform_unavailable",
        ) from exc
    if response.status_code != 200:
        error = json_body(response).get("error")
        hint = f" {CLIENT_HINT}" if error == "invalid_client" else ""
        raise AuthorizationFailed(
            f"LinkedIn refused the authorization code: {linkedin_message(response)}.{hint}",
            details={"status": response.status_code, "error": error},
        )
    answer = json_body(response)
    credentials = _credentials(answer, now)
    if credentials is None:
        raise AuthorizationFailed("LinkedIn's token answer held no access token.")
    account = await _userinfo(ctx, credentials.tokens["access_token"])
    return AuthResult(account=account, credentials=credentials)


async def _userinfo(ctx: PlatformContext, access_token: str) -> Account:
    """The member behind a token. LinkedIn has no handle: the display name stands in for one."""
    headers = {"Authorization": f"Bearer {access_token}"}
    try:
        response = await send(ctx, "GET", f"{api_url(ctx)}/v2/userinfo", mutating=False, headers=headers)
    except PlatformError as exc:
        raise AuthorizationFailed(
            f"Could not ask LinkedIn who you are; try again. ({exc.message})", code="platform_unavailable"
        ) from exc
    if response.status_code != 200:
        hint = (
            " The LinkedIn app needs the 'Sign In with LinkedIn using OpenID Connect' product"
            " (scopes openid and profile)."
            if response.status_code == 403
            else ""
        )
        raise AuthorizationFailed(f"LinkedIn did not share the member's profile: {linkedin_message(response)}.{hint}")
    info = json_body(response)
    sub = info.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthorizationFailed("LinkedIn's profile answer held no member id.")
    name = str(
        info.get("name") or " ".join(str(part) for part in (info.get("given_name"), info.get("family_name")) if part)
    )
    return Account(external_id=sub, handle=name or sub, name=name, url="")


def _credentials(answer: Mapping[str, Any], now: datetime) -> Credentials | None:
    """Credentials from a token answer; ``None`` when it has no access token.

    A refresh token is only included when LinkedIn sent one (programmatic
    refresh tokens are granted to approved apps only); the gateway keeps the
    one it has otherwise.
    """
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        return None
    tokens = {"access_token": access}
    refresh = answer.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        tokens["refresh_token"] = refresh
    return Credentials(
        tokens=tokens,
        expires_at=_after(now, answer.get("expires_in")),
        refresh_expires_at=_after(now, answer.get("refresh_token_expires_in")) if "refresh_token" in tokens else None,
    )


def _after(now: datetime, seconds: Any) -> datetime | None:
    try:
        return now + timedelta(seconds=int(seconds)) if seconds is not None else None
    except (TypeError, ValueError):
        return None


async def refresh(ctx: PlatformContext, credentials: Credentials) -> Credentials:
    """Mint a new access token with the refresh token.

    LinkedIn answers with the same refresh token and its remaining lifetime
    (its lifetime does not restart); an answer without one leaves it out.
    """
    token = credentials.tokens.get("refresh_token")
    if not token:
        raise AuthExpired("This LinkedIn connection has no refresh token; reconnect the account.")
    form = {"grant_type": "refresh_token", "refresh_token": token, **_client(ctx)}
    now = datetime.now(UTC)
    response = await send(ctx, "POST", token_url(ctx), mutating=False, data=form)
    if response.status_code in (400, 401):
        error = json_body(response).get("error")
        code = error if isinstance(error, str) else None
        if code == "invalid_client":
            # the gateway's app credentials are wrong: reconnecting would not help
            raise PermanentError(
                f"LinkedIn rejected the app's credentials ({linkedin_message(response)}). {CLIENT_HINT}",
                code="config_error",
                platform_code=code,
                status_code=response.status_code,
            )
        raise AuthExpired(
            f"LinkedIn would not refresh the connection ({linkedin_message(response)}); reconnect the account.",
            platform_code=code,
            status_code=response.status_code,
        )
    if response.status_code != 200:
        raise error_for(response, action="refresh the access token")
    fresh = _credentials(json_body(response), now)
    if fresh is None:
        raise TransientError("LinkedIn's refresh answer held no access token.")
    return fresh
