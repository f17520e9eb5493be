"""A fake LinkedIn: an ASGI app that imitates LinkedIn's OAuth and share APIs on loopback.

It checks what LinkedIn checks (client credentials, redirect URI, single-use
expiring codes, bearer tokens and their scopes, the Rest.li protocol header,
the exact UGC share shape, lengths, duplicates, a per-member quota) and answers
in LinkedIn's shapes, so the plugin's real HTTP code is what the tests exercise.
Faults are injected through :class:`gateway.fakes.Faults` by route, e.g.::

    fake = create_fake_linkedin()
    fake.faults.inject("POST /v2/ugcPosts", "drop_after_store")

Routes that take faults are listed in :data:`ROUTES`. The member-facing pages
(the consent page, ``/feed/update/{urn}/``, ``/``) make it usable by a person
in ``gateway sandbox``.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quart import Quart, Response, jsonify

from gateway.fakes import Fault, Faults, dropped_body

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_SUB = "782bbtaQ"
DEFAULT_NAME = "Sandbox Member"

#: every route that answers fault injection, as ``Faults.inject`` wants it
ROUTES = (
    "GET /oauth/v2/authorization",
    "POST /oauth/v2/accessToken",
    "GET /v2/userinfo",
    "POST /v2/ugcPosts",
    "GET /v2/ugcPosts",
    "DELETE /v2/ugcPosts/{urn}",
    "POST /v2/socialActions/{urn}/comments",
    "GET /v2/socialActions/{urn}/comments",
)

#: what the sandbox app is allowed to ask for (r_member_social is restricted on real LinkedIn)
APP_SCOPES = frozenset({"openid", "profile", "email", "w_member_social", "r_member_social"})


@dataclass
class Member:
    sub: str
    name: str
    given_name: str
    family_name: str
    email: str
    picture: str = ""

    @property
    def urn(self) -> str:
        return f"urn:li:person:{self.sub}"


@dataclass
class Share:
    urn: str
    author: str  #: the member URN
    text: str
    visibility: str
    created_at: datetime
    activity: str  #: the feed activity URN that comments hang off

    @property
    def created_ms(self) -> int:
        return int(self.created_at.timestamp() * 1000)


@dataclass
class Comment:
    urn: str  #: ``urn:li:comment:(urn:li:activity:N,ID)``
    id: str
    share: str  #: the share URN it comments on
    actor: str
    text: str
    created_at: datetime

    @property
    def created_ms(self) -> int:
        return int(self.created_at.timestamp() * 1000)


@dataclass
class Authorization:
    """An authorization request waiting on the consent page."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str | None


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    sub: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class Token:
    """An access or refresh token the fake issued."""

    value: str
    sub: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


@dataclass
class FakeLinkedIn:
    """The fake's state. Tests read and steer it; :attr:`app` serves it."""

    client_id: str = SANDBOX_CLIENT_ID
    client_secret: str = SANDBOX_CLIENT_SECRET
    faults: Faults = field(default_factory=Faults)
    members: dict[str, Member] = field(default_factory=dict)
    signed_in: str = DEFAULT_SUB  #: the member the consent page acts for by default
    posts: dict[str, Share] = field(default_factory=dict)  #: live shares by URN
    comments: dict[str, Comment] = field(default_factory=dict)  #: live comments by URN
    deleted: list[str] = field(default_factory=list)  #: URNs of deleted shares
    counters: Counter[str] = field(default_factory=Counter)  #: requests received, by route
    token_errors: list[str] = field(default_factory=list)  #: why the token endpoint refused, in order
    redirect_uris: set[str] | None = None  #: registered redirect URLs; None accepts any http(s) URL
    app_scopes: set[str] = field(default_factory=lambda: set(APP_SCOPES))
    code_ttl: float = 1800.0  #: seconds an authorization code lives (LinkedIn: 30 minutes)
    access_token_ttl: int = 5_184_000  #: 60 days
    refresh_token_ttl: int = 31_536_000  #: 365 days
    grant_refresh_tokens: bool = True  #: whether this app has programmatic refresh tokens
    refresh_includes_refresh_token: bool = True  #: whether a refresh answer repeats the refresh token
    post_limit: int | None = None  #: shares per member per ``post_limit_window``; None = no limit
    post_limit_window: float = 86_400.0
    clock: Callable[[], float] = time.time  #: the fake's time; replace to move it
    authorizations: dict[str, Authorization] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, Token] = field(default_factory=dict)
    post_times: dict[str, list[float]] = field(default_factory=dict)
    _next_id: int = 7_130_000_000_000_000_001
    app: Quart = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.add_member(DEFAULT_SUB, DEFAULT_NAME)
        self.app = _create_app(self)

    # -- steering ---------------------------------------------------------

    def add_member(
        self,
        sub: str,
        name: str,
        *,
        given_name: str | None = None,
        family_name: str | None = None,
        email: str | None = None,
        picture: str = "",
    ) -> Member:
        first, _, last = name.partition(" ")
        member = Member(
            sub=sub,
            name=name,
            given_name=given_name if given_name is not None else first,
            family_name=family_name if family_name is not None else last,
            email=email if email is not None else f"{sub.lower()}@example.com",
            picture=picture,
        )
        self.members[sub] = member
        return member

    def sign_in(self, sub: str) -> None:
        """Make ``sub`` the member who approves on the consent page."""
        if sub not in self.members:
            raise KeyError(f"no member {sub!r}; add_member() first")
        self.signed_in = sub

    def issue_token(self, sub: str = DEFAULT_SUB, scopes: tuple[str, ...] | None = None) -> str:
        """An access token for ``sub`` without the OAuth dance (for API tests)."""
        granted = scopes if scopes is not None else ("openid", "profile", "w_member_social", "r_member_social")
        return self._mint(self.tokens, sub, granted, self.access_token_ttl).value

    def expire_token(self, token: str) -> None:
        self.tokens[token].expires_at = self.clock() - 1

    def revoke_refresh_token(self, token: str) -> None:
        self.refresh_tokens[token].revoked = True

    def expire_refresh_token(self, token: str) -> None:
        self.refresh_tokens[token].expires_at = self.clock() - 1

    def shares_by(self, sub: str) -> list[Share]:
        urn = f"urn:li:person:{sub}"
        return [share for share in self.posts.values() if share.author == urn]

    def comments_on(self, share: str) -> list[Comment]:
        return sorted((c for c in self.comments.values() if c.share == share), key=lambda c: c.created_ms)

    # -- used by the routes -------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _mint(self, store: dict[str, Token], sub: str, scopes: tuple[str, ...], ttl: float) -> Token:
        token = Token("AQ" + secrets.token_urlsafe(48), sub, scopes, self.clock() + ttl)
        store[token.value] = token
        return token

    def mint_access(self, sub: str, scopes: tuple[str, ...]) -> Token:
        return self._mint(self.tokens, sub, scopes, self.access_token_ttl)

    def mint_refresh(self, sub: str, scopes: tuple[str, ...]) -> Token:
        return self._mint(self.refresh_tokens, sub, scopes, self.refresh_token_ttl)

    def faulty(self, route: str) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
        """Wrap a view so it counts its requests and obeys the faults injected for ``route``."""

        def wrap(view: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
            @functools.wraps(view)
            async def handle(**kwargs: Any) -> Response:
                self.counters[route] += 1
                fault = self.faults.take(route)
                if fault is not None:
                    early = await _before(fault)
                    if early is not None:
                        return early
                response = await view(**kwargs)
                if fault is not None and response.status_code < 300:
                    if fault.kind == "drop_after_store":
                        return Response(dropped_body(), status=response.status_code, mimetype="application/json")
                    if fault.kind == "hang_after_store":
                        await self.faults.hold(fault)
                return response

            return handle

        return wrap


async def _before(fault: Fault) -> Response | None:
    """Act on a fault that strikes before the work; ``None`` lets the request through."""
    params = fault.params
    if fault.kind == "latency":
        await asyncio.sleep(float(params.get("seconds", 1.0)))
        return None
    if fault.kind == "status":
        status = int(params.get("status", 503))
        return api_error(status, str(params.get("message", "Service Unavailable (fault injected)")))
    if fault.kind == "rate_limit":
        response = api_error(
            429, "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        )
        # LinkedIn seldom sends one; the fault sends it only when told how long
        if "reset_in" in params:
            response.headers["Retry-After"] = str(int(params["reset_in"]))
        return response
    if fault.kind == "drop_before":
        return Response(dropped_body(), status=200, mimetype="application/json")
    return None


def api_error(status: int, message: str, service_code: int | None = None) -> Response:
    """An error in the shape of LinkedIn's REST API."""
    body: dict[str, Any] = {"message": message, "status": status}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    response = jsonify(body)
    response.status_code = status
    return response


def _create_app(fake: FakeLinkedIn) -> Quart:
    from gateway_linkedin.fake_api import register_api
    from gateway_linkedin.fake_oauth import register_oauth

    app = Quart("fake_linkedin")
    register_oauth(app, fake)
    register_api(app, fake)
    return app


def create_fake_linkedin(
    *, client_id: str = SANDBOX_CLIENT_ID, client_secret: str = SANDBOX_CLIENT_SECRET
) -> FakeLinkedIn:
    """A fresh fake LinkedIn with one member (``782bbtaQ``, "Sandbox Member")."""
    return FakeLinkedIn(client_id=client_id, client_secret=client_secret)
