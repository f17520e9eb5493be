"""HTTP to LinkedIn: settings, one request helper, and error classification.

Every call goes through :func:`send`, which turns what happened on the wire into
the gateway's error tree so the worker can decide what to do:

- the connection could not be made (refused, DNS, connect timeout, pool
  timeout): nothing reached LinkedIn, :class:`TransientError`;
- the request may have been sent but no complete answer came back (read
  timeout, dropped connection): :class:`OutcomeUnknown` for a call that
  changes something, :class:`TransientError` for a read;
- an answer came: :func:`error_for` maps the status (401, 429, 5xx, other 4xx).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from gateway.errors import (
    AuthExpired,
    OutcomeUnknown,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)
from gateway.types import PlatformContext

API_URL = "https://api.linkedin.com"
AUTH_URL = "https://www.linkedin.com"
RESTLI = {"X-Restli-Protocol-Version": "2.0.0"}

#: LinkedIn rarely sends ``Retry-After`` on a 429 (its member and application
#: quotas are daily). Without one we ask the worker to come back after a minute
#: rather than guess the end of the day; the worker's own backoff grows from there.
DEFAULT_RETRY_AFTER = timedelta(seconds=60)


def api_url(ctx: PlatformContext) -> str:
    return (ctx.settings.get("api_url") or API_URL).rstrip("/")


def auth_url(ctx: PlatformContext) -> str:
    """Base of the member-facing pages and of the OAuth endpoints (www.linkedin.com)."""
    return (ctx.settings.get("auth_url") or AUTH_URL).rstrip("/")


def person_urn(sub: str) -> str:
    return f"urn:li:person:{sub}"


def encode_urn(urn: str) -> str:
    """A URN as one path segment or Rest.li list item: every reserved character escaped."""
    return quote(urn, safe="")


def post_url(ctx: PlatformContext, urn: str) -> str:
    """Where a person sees the share (``https://www.linkedin.com/feed/update/{urn}/``)."""
    return f"{auth_url(ctx)}/feed/update/{urn}/"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **RESTLI}


async def send(
    ctx: PlatformContext,
    method: str,
    url: str,
    *,
    mutating: bool,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request; raise the gateway error for a failure on the wire.

    ``mutating`` says whether a lost answer leaves the outcome unknown (a POST
    that may have created something) or is simply worth retrying (a GET).
    The response is returned whatever its status; see :func:`error_for`.
    """
    try:
        return await ctx.http.request(method, url, headers=headers, json=json, data=data)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError) as exc:
        raise TransientError(f"Could not reach LinkedIn: {_describe(exc)}.", code="unreachable") from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentError(
            f"The LinkedIn URL {url!r} is not usable: {exc}. Check GATEWAY_LINKEDIN_API_URL.",
            code="config_error",
        ) from exc
    except httpx.TransportError as exc:
        if mutating:
            raise OutcomeUnknown(
                f"The connection to LinkedIn broke off after the request was sent ({_describe(exc)});"
                " it may or may not have been published.",
            ) from exc
        raise TransientError(f"The connection to LinkedIn broke off: {_describe(exc)}.", code="unreachable") from exc


def _describe(exc: httpx.TransportError) -> str:
    return str(exc) or type(exc).__name__


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer as a JSON object, or ``{}`` when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def linkedin_message(response: httpx.Response) -> str:
    """LinkedIn's own explanation: ``message`` on the API, ``error_description`` on OAuth."""
    body = json_body(response)
    for key in ("message", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    text = response.text.strip()
    return text[:300] if text else (response.reason_phrase or f"HTTP {response.status_code}")


def retry_at(response: httpx.Response, now: datetime | None = None) -> datetime:
    """When to try again after a 429: ``Retry-After`` (seconds or a date), else a minute."""
    now = now or datetime.now(UTC)
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return now + DEFAULT_RETRY_AFTER


def error_for(response: httpx.Response, *, action: str) -> PlatformError:
    """The gateway error for a LinkedIn API answer that is not a success.

    ``action`` completes the sentence "LinkedIn refused to ...".
    """
    status = response.status_code
    message = linkedin_message(response)
    body = json_body(response)
    service_code = body.get("serviceErrorCode")
    platform_code = str(service_code) if service_code is not None else None
    common: dict[str, Any] = {"platform_code": platform_code, "status_code": status}
    if status == 401:
        return AuthExpired(f"LinkedIn rejected the access token: {message}", **common)
    if status == 429:
        return RateLimited(f"LinkedIn's rate limit was reached: {message}", retry_at=retry_at(response), **common)
    if status >= 500:
        return TransientError(f"LinkedIn is having trouble (HTTP {status}): {message}", **common)
    if status == 422 and "duplicate" in message.lower():
        return PermanentError(
            f"LinkedIn refused a duplicate post: {message}",
            code="duplicate",
            details={"duplicate_of": _duplicate_of(message)},
            **common,
        )
    return PermanentError(f"LinkedIn refused to {action}: {message}", **common)


def _duplicate_of(message: str) -> str | None:
    """The URN in "Content is a duplicate of urn:li:share:123", if any."""
    for word in message.replace(",", " ").split():
        if word.startswith("urn:li:"):
            return word.rstrip(".")
    return None
