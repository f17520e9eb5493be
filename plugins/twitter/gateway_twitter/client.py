"""Signed calls to the X API and the mapping of X's answers to gateway errors.

Every request is signed with :class:`~gateway_twitter.oauth1.Signer` and sent
with the ``httpx.AsyncClient`` the gateway hands the plugin. Bodies are sent
exactly as built here: JSON bytes for the v2 API (not part of the signature,
but really sent), form bytes for the OAuth endpoints (signed).

Failures are classified for the worker:

==============================================  =====================================
what happened                                   raised
==============================================  =====================================
connection refused / connect timeout / pool     ``TransientError`` (nothing was sent)
timeout or dropped connection after sending     ``OutcomeUnknown`` for a POST (it may
                                                have been applied), ``TransientError``
                                                for reads and deletes
401                                             ``AuthExpired``
429                                             ``RateLimited`` (``x-rate-limit-reset``)
403 "duplicate content"                         ``PermanentError(code="duplicate")``
other 4xx                                       ``PermanentError`` with X's message
5xx                                             ``TransientError``
==============================================  =====================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from gateway.errors import (
    AuthExpired,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)
from gateway.types import PlatformContext
from gateway_twitter.oauth1 import Signer

DEFAULT_API_URL = "https://api.x.com"
DEFAULT_TIMEOUT = 15.0
#: used when a 429 carries no reset header: X's rate-limit windows are 15 minutes
FALLBACK_RATE_WINDOW = timedelta(minutes=15)

#: errors raised before a single byte of the request left this machine
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def setting(ctx: PlatformContext, name: str, default: str | None = None) -> str:
    value = ctx.settings.get(name) or default
    if value is None:
        raise ConfigError(f"GATEWAY_TWITTER_{name.upper()} is not set")
    return value


def timeout_of(ctx: PlatformContext) -> float:
    raw = ctx.settings.get("timeout") or str(DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"GATEWAY_TWITTER_TIMEOUT: expected seconds, got {raw!r}") from None
    return value if value > 0 else DEFAULT_TIMEOUT


class XClient:
    """One account's (or the app's, with no token) view of the X API."""

    def __init__(self, ctx: PlatformContext, *, token: str | None = None, token_secret: str | None = None):
        self.http = ctx.http
        self.api_url = setting(ctx, "api_url", DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout_of(ctx)
        self.signer = Signer(
            consumer_key=setting(ctx, "consumer_key"),
            consumer_secret=setting(ctx, "consumer_secret"),
            token=token,
            token_secret=token_secret,
        )

    def url(self, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
        url = f"{self.api_url}{path}"
        if params:
            url += "?" + urlencode(list(params), quote_via=quote, safe="")
        return url

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        form: Sequence[tuple[str, str]] = (),
        oauth_extra: Mapping[str, str] | None = None,
        unsafe: bool = False,
    ) -> httpx.Response:
        """Sign and send one request; map transport failures to gateway errors.

        ``unsafe`` marks a request that changes something on X (creating a post):
        if it may have reached X, the caller gets ``OutcomeUnknown`` instead of a
        retryable error, so the worker reconciles rather than publish twice.
        """
        url = self.url(path, params)
        headers = {"Authorization": self.signer.sign(method, url, form=form, extra=oauth_extra)}
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif form:
            content = urlencode(list(form), quote_via=quote, safe="").encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            return await self.http.request(
                method, url, content=content, headers=headers, timeout=httpx.Timeout(self.timeout)
            )
        except httpx.UnsupportedProtocol as exc:
            raise PermanentError(
                f"GATEWAY_TWITTER_API_URL is not an http(s) URL: {self.api_url!r}", code="config_error"
            ) from exc
        except _NOT_SENT as exc:
            raise TransientError(f"Could not reach X ({type(exc).__name__}); will retry.") from exc
        except httpx.TransportError as exc:  # sent (at least partly), answer lost
            if unsafe:
                raise OutcomeUnknown(
                    f"The connection to X broke after the request was sent ({type(exc).__name__});"
                    " the post may have been published."
                ) from exc
            raise TransientError(f"The connection to X failed ({type(exc).__name__}).") from exc

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        unsafe: bool = False,
    ) -> dict[str, Any]:
        """A v2 API call: the decoded JSON answer, or the mapped error."""
        response = await self.send(method, path, params=params, json_body=json_body, unsafe=unsafe)
        if not response.is_success:
            raise api_error(response)
        try:
            data = response.json()
        except ValueError as exc:
            if unsafe:
                raise OutcomeUnknown("X accepted the request but its answer was unreadable.") from exc
            raise TransientError("X sent an unreadable answer.") from exc
        if not isinstance(data, dict):
            raise TransientError("X sent an unexpected answer.")
        return data


def error_payload(response: httpx.Response) -> tuple[str | None, str | None]:
    """X's own (message, code) from an error answer, in either of its formats."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or None), None
    return error_payload_of(body)


def error_payload_of(body: Any) -> tuple[str | None, str | None]:
    """X's own (message, code) from a decoded error body.

    v2 answers are RFC 7807 problems (``detail``, ``title``, ``type``), often
    with an ``errors`` list; the OAuth endpoints answer v1.1 style
    ``{"errors": [{"code": 32, "message": ...}]}``.
    """
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    detail = body.get("detail")
    own = first.get("message") or first.get("detail")
    if detail and own and str(detail).startswith("One or more parameters"):
        message = own  # the generic v2 "invalid request" says less than the error itself
    else:
        message = detail or own or body.get("title")
    code: Any = first.get("code")
    if code is None:
        problem = body.get("type") or first.get("type")
        code = problem if problem and problem != "about:blank" else body.get("title")
    return (str(message) if message else None), (str(code) if code is not None else None)


def reset_time(response: httpx.Response) -> datetime:
    raw = response.headers.get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw else datetime.now(UTC) + FALLBACK_RATE_WINDOW
    except (ValueError, OverflowError, OSError):
        return datetime.now(UTC) + FALLBACK_RATE_WINDOW


def api_error(response: httpx.Response) -> PlatformError:
    """The gateway error for a non-2xx answer of the v2 API."""
    status = response.status_code
    message, code = error_payload(response)
    common: dict[str, Any] = {"platform_code": code, "status_code": status}
    if status == 401:
        return AuthExpired(
            "X rejected the account's access token (revoked or app access removed); reconnect the account.",
            **common,
        )
    if status == 429:
        retry_at = reset_time(response)
        return RateLimited(f"X rate limit reached; retry after {retry_at.isoformat()}.", retry_at=retry_at, **common)
    if status >= 500:
        return TransientError(f"X is having trouble (HTTP {status}); will retry.", **common)
    text = message or f"X refused the request (HTTP {status})."
    if status == 403 and "duplicate content" in text.lower():
        return PermanentError(text, code="duplicate", **common)
    return PermanentError(text, **common)
