"""Connecting an X account: OAuth 1.0a three-legged flow, the way X runs it.

1. ``POST /oauth/request_token`` signed by the app, with ``oauth_callback``;
   X answers ``oauth_token``, ``oauth_token_secret``, ``oauth_callback_confirmed``.
2. The user goes to ``/oauth/authorize?oauth_token=...`` and comes back to the
   callback with ``oauth_token`` and ``oauth_verifier`` (or ``denied``).
3. ``POST /oauth/access_token`` signed with the request token and its secret,
   carrying ``oauth_verifier``; X answers the account's access token and secret,
   ``user_id`` and ``screen_name``.
4. ``GET /2/users/me`` with the new token for the account's display name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

import httpx

from gateway.errors import AuthorizationFailed, PlatformError, RateLimited, TransientError
from gateway.types import Account, AuthResult, AuthStart, Credentials, PlatformContext
from gateway_twitter.client import DEFAULT_API_URL, XClient, error_payload, reset_time, setting

log = logging.getLogger(__name__)


def _oauth_answer(response: httpx.Response, *, step: str) -> dict[str, str]:
    """The form-encoded answer of an OAuth endpoint, or the error to raise."""
    status = response.status_code
    if response.is_success:
        return dict(parse_qsl(response.text, keep_blank_values=True))
    message, code = error_payload(response)
    said = f" X said: {message}" if message else ""
    if status == 429:
        retry_at = reset_time(response)
        raise RateLimited(
            f"X is rate limiting connections; try again after {retry_at.isoformat()}.",
            retry_at=retry_at,
            platform_code=code,
            status_code=status,
        )
    if status >= 500:
        raise TransientError(f"X could not start the connection (HTTP {status}); try again.", status_code=status)
    if step == "request_token":
        raise AuthorizationFailed(
            "X refused to start the connection: check GATEWAY_TWITTER_CONSUMER_KEY, "
            "GATEWAY_TWITTER_CONSUMER_SECRET and the callback URL registered for the app." + said,
            code="app_rejected",
            details={"status": status, "platform_code": code},
        )
    raise AuthorizationFailed(
        "X refused to finish the connection: the authorization was already used, expired"
        " or did not match. Connect the account again." + said,
        code="token_rejected",
        details={"status": status, "platform_code": code},
    )


async def authorize_start(ctx: PlatformContext) -> AuthStart:
    client = XClient(ctx)
    response = await client.send("POST", "/oauth/request_token", oauth_extra={"oauth_callback": ctx.callback_url})
    answer = _oauth_answer(response, step="request_token")
    token, secret = answer.get("oauth_token"), answer.get("oauth_token_secret")
    if not token or not secret:
        raise AuthorizationFailed("X's answer carried no request token.", code="invalid_answer")
    if answer.get("oauth_callback_confirmed") != "true":
        raise AuthorizationFailed(
            "X did not confirm the callback URL; check the callback URLs registered for the app.",
            code="callback_not_confirmed",
        )
    auth_url = setting(ctx, "auth_url", DEFAULT_API_URL).rstrip("/")
    return AuthStart(
        authorize_url=f"{auth_url}/oauth/authorize?{urlencode({'oauth_token': token})}",
        state_key=token,
        secrets={"oauth_token_secret": secret},
    )


async def authorize_finish(ctx: PlatformContext, params: Mapping[str, str], secrets: Mapping[str, str]) -> AuthResult:
    if "denied" in params:
        raise AuthorizationFailed("You declined to connect your X account.", code="access_denied")
    token, verifier = params.get("oauth_token"), params.get("oauth_verifier")
    if not token or not verifier:
        raise AuthorizationFailed("X's callback carried no oauth_token and oauth_verifier.", code="invalid_callback")
    secret = secrets.get("oauth_token_secret")
    if not secret:
        raise AuthorizationFailed("The connection in progress lost its secret; start again.", code="invalid_state")

    exchange = XClient(ctx, token=token, token_secret=secret)
    response = await exchange.send("POST", "/oauth/access_token", oauth_extra={"oauth_verifier": verifier})
    answer = _oauth_answer(response, step="access_token")
    access, access_secret = answer.get("oauth_token"), answer.get("oauth_token_secret")
    if not access or not access_secret:
        raise AuthorizationFailed("X's answer carried no access token.", code="invalid_answer")

    account = await _identity(XClient(ctx, token=access, token_secret=access_secret), answer)
    return AuthResult(
        account=account,
        credentials=Credentials(tokens={"oauth_token": access, "oauth_token_secret": access_secret}),
    )


async def _identity(client: XClient, answer: Mapping[str, str]) -> Account:
    """The account behind a fresh access token.

    ``GET /2/users/me`` gives the display name. Its rate limit is small on
    X's lower tiers, so when it is only rate limited or unavailable the
    ``user_id``/``screen_name`` of the token exchange are enough; a refused
    token is not.
    """
    try:
        data = (await client.call("GET", "/2/users/me")).get("data") or {}
    except (RateLimited, TransientError) as exc:
        if not answer.get("user_id") or not answer.get("screen_name"):
            raise
        log.warning("X /2/users/me failed (%s); using the token exchange's identity", exc.message)
        data = {"id": answer["user_id"], "username": answer["screen_name"], "name": answer["screen_name"]}
    except PlatformError as exc:
        raise AuthorizationFailed(
            f"X gave an access token but refused to show the account: {exc.message}", code="identity_failed"
        ) from exc
    user_id, username = str(data.get("id") or ""), str(data.get("username") or "")
    if not user_id or not username:
        raise AuthorizationFailed("X did not say which account was connected.", code="invalid_answer")
    if answer.get("user_id") and answer["user_id"] != user_id:
        raise AuthorizationFailed("X answered for a different account than it authorized.", code="identity_mismatch")
    return Account(
        external_id=user_id,
        handle=username,
        name=str(data.get("name") or username),
        url=f"https://x.com/{username}",
    )
