"""The fake X's state and the checks it makes; its endpoints are in :mod:`.fake_routes`.

Use :func:`gateway_twitter.fake.create_fake_x` to build one.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from quart import Quart, Response, request

from gateway.fakes import Fault, Faults, dropped_body
from gateway_twitter import fake_pages as pages
from gateway_twitter.oauth1 import SIGNATURE_METHOD, parse_authorization, verify
from gateway_twitter.text import url_spans

DEFAULT_USER = ("2244994945", "sandbox_user", "Sandbox User")
#: every route a fault can be injected on
ROUTES = (
    "POST /oauth/request_token",
    "GET /oauth/authorize",
    "POST /oauth/authorize",
    "POST /oauth/access_token",
    "GET /2/users/me",
    "POST /2/tweets",
    "DELETE /2/tweets/:id",
    "GET /2/users/:id/tweets",
)
#: (requests, window seconds) per user and route
DEFAULT_RATE_LIMITS = {
    "POST /2/tweets": (300, 3 * 3600),
    "DELETE /2/tweets/:id": (50, 900),
    "GET /2/users/me": (75, 900),
    "GET /2/users/:id/tweets": (900, 900),
}
TWEET_FIELDS = frozenset(
    "article attachments author_id card_uri community_id context_annotations conversation_id created_at"
    " display_text_range edit_controls edit_history_tweet_ids entities geo id in_reply_to_user_id lang"
    " note_tweet possibly_sensitive public_metrics referenced_tweets reply_settings scopes source text"
    " withheld".split()
)
CREATE_FIELDS = frozenset(
    "card_uri community_id direct_message_deep_link for_super_followers_only geo media nullcast poll"
    " quote_tweet_id reply reply_settings share_with_followers text".split()
)


class Rejected(Exception):
    """Stop handling a request and answer ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class FakeUser:
    id: str
    username: str
    name: str


@dataclass
class FakeTweet:
    id: str
    author_id: str
    text: str  #: as posted
    in_reply_to: str | None
    created_at: datetime
    display_text: str  #: as X shows it: URLs as t.co links, & < > escaped


@dataclass
class RequestToken:
    token: str
    secret: str
    callback: str
    issued: float
    user_id: str | None = None
    verifier: str | None = None
    used: bool = False


@dataclass
class AccessToken:
    token: str
    secret: str
    user_id: str


@dataclass
class FakeX:
    consumer_key: str
    consumer_secret: str
    rate_limits: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    timestamp_window: int = 300  #: seconds a request's oauth_timestamp may be off
    request_token_ttl: int = 900
    allowed_callbacks: list[str] | None = None  #: None: any http(s) URL or "oob"
    app: Quart = field(init=False, repr=False)
    faults: Faults = field(default_factory=Faults)
    tweets: list[FakeTweet] = field(default_factory=list)
    users: dict[str, FakeUser] = field(default_factory=dict)
    request_tokens: dict[str, RequestToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)  #: per route key
    auth_failures: Counter[str] = field(default_factory=Counter)  #: per reason
    _nonces: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _windows: dict[tuple[str, str], list[float]] = field(default_factory=dict, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_860_000_000_000_000_001))

    def __post_init__(self) -> None:
        self.default_user = self.add_user(DEFAULT_USER[1], name=DEFAULT_USER[2], user_id=DEFAULT_USER[0])
        self.app = Quart("gateway_twitter.fake")

    # -- state helpers, for tests and the routes -----------------------------------------

    def add_user(self, username: str, *, name: str | None = None, user_id: str | None = None) -> FakeUser:
        user = FakeUser(user_id or str(next(self._ids)), username, name or username)
        self.users[user.id] = user
        return user

    def find_user(self, ref: str | None) -> FakeUser | None:
        """A user by id or username (``@`` optional); the default user for None."""
        if not ref:
            return self.default_user
        ref = ref.lstrip("@")
        return self.users.get(ref) or next((u for u in self.users.values() if u.username == ref), None)

    def issue_access_token(self, user: FakeUser | None = None) -> AccessToken:
        """The user's access token for the app (X hands the same one on every authorization)."""
        user = user or self.default_user
        for existing in self.access_tokens.values():
            if existing.user_id == user.id:
                return existing
        token = AccessToken(f"{user.id}-{secrets.token_urlsafe(24)}", secrets.token_urlsafe(32), user.id)
        self.access_tokens[token.token] = token
        return token

    def revoke(self, user: FakeUser | None = None) -> None:
        """The user removed the app's access: its tokens stop working."""
        user = user or self.default_user
        for key in [k for k, t in self.access_tokens.items() if t.user_id == user.id]:
            del self.access_tokens[key]

    def tweet(self, tweet_id: str) -> FakeTweet | None:
        return next((t for t in self.tweets if t.id == tweet_id), None)

    def tweets_by(self, user: FakeUser | None = None) -> list[FakeTweet]:
        user = user or self.default_user
        return [t for t in self.tweets if t.author_id == user.id]

    def store_tweet(self, author: FakeUser, text: str, in_reply_to: str | None = None) -> FakeTweet:
        tweet = FakeTweet(
            id=str(next(self._ids)),
            author_id=author.id,
            text=text,
            in_reply_to=in_reply_to,
            created_at=datetime.now(UTC),
            display_text=display_text(text),
        )
        self.tweets.append(tweet)
        return tweet

    def is_duplicate(self, author: FakeUser, text: str) -> bool:
        key = unicodedata.normalize("NFC", text).strip()
        return any(unicodedata.normalize("NFC", t.text).strip() == key for t in self.tweets_by(author))

    # -- the checks X makes -----------------------------------------------------------

    def reject_auth(self, reason: str, code: int = 32, message: str = "Could not authenticate you.") -> Rejected:
        self.auth_failures[reason] += 1
        if request.path.startswith("/2/"):
            return Rejected(pages.problem(401))
        return Rejected(pages.v1_error(401, code, message))

    async def authenticate(self, kind: str) -> tuple[dict[str, str], Any]:
        """Check the request's OAuth 1.0a signature; return its oauth params and token.

        ``kind`` is the token it must carry: ``"none"`` (request_token),
        ``"request"`` (access_token) or ``"access"`` (the API).
        """
        header = request.headers.get("Authorization", "")
        oauth = parse_authorization(header) if header else None
        if not oauth or "oauth_signature" not in oauth:
            raise self.reject_auth("missing_auth", 215, "Bad Authentication data.")
        if oauth.get("oauth_signature_method") != SIGNATURE_METHOD or oauth.get("oauth_version", "1.0") != "1.0":
            raise self.reject_auth("signature_method")
        if not secrets.compare_digest(oauth.get("oauth_consumer_key", ""), self.consumer_key):
            raise self.reject_auth("unknown_consumer")
        try:
            stamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > self.timestamp_window:
            raise self.reject_auth("timestamp", 135, "Timestamp out of bounds.")
        nonce = oauth.get("oauth_nonce", "")
        if not nonce:
            raise self.reject_auth("missing_nonce")
        token_value = oauth.get("oauth_token")
        token: RequestToken | AccessToken | None = None
        if kind == "request":
            token = self.request_tokens.get(token_value or "")
        elif kind == "access":
            token = self.access_tokens.get(token_value or "")
        if kind != "none" and token is None:
            raise self.reject_auth("unknown_token", 89, "Invalid or expired token.")
        raw = await request.get_data()
        body = raw.decode() if isinstance(raw, bytes) else raw
        params = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            params += parse_qsl(body, keep_blank_values=True)
        url = f"{request.scheme}://{request.host}{request.path}"
        token_secret = token.secret if token is not None else None
        if not verify(request.method, url, params, oauth, self.consumer_secret, token_secret):
            raise self.reject_auth("bad_signature")
        if (nonce, str(stamp)) in self._nonces:
            raise self.reject_auth("nonce_replay")
        self._remember_nonce(nonce, stamp)
        oauth.update({k: v for k, v in params if k == "oauth_verifier" and "oauth_verifier" not in oauth})
        return oauth, token

    def _remember_nonce(self, nonce: str, stamp: int) -> None:
        """Keep nonces as long as their timestamp is acceptable (older ones fail the window anyway)."""
        if len(self._nonces) > 10_000:
            horizon = time.time() - self.timestamp_window
            self._nonces = {k: v for k, v in self._nonces.items() if v >= horizon}
        self._nonces[(nonce, str(stamp))] = stamp

    def rate_limit(self, route: str, user: FakeUser) -> dict[str, str]:
        """Count one call; raise the 429 X would send, or return the headers X adds."""
        limit, window = self.rate_limits.get(route, (0, 0))
        if not limit:
            return {}
        now = time.time()
        start_count = self._windows.setdefault((route, user.id), [now, 0])
        if now >= start_count[0] + window:
            start_count[:] = [now, 0]
        reset = int(start_count[0] + window)
        if start_count[1] >= limit:
            raise Rejected(pages.problem(429, headers=rate_headers(limit, 0, reset)))
        start_count[1] += 1
        return rate_headers(limit, int(limit - start_count[1]), reset)

    # -- fault injection ---------------------------------------------------------------

    def route(self, rule: str, key: str, methods: list[str]) -> Callable[[Handler], Handler]:
        """Register a view under ``key`` with fault injection and ``Rejected`` handling."""

        def register(handler: Handler) -> Handler:
            async def view(**kwargs: Any) -> Response:
                self.requests[key] += 1
                fault = self.faults.take(key)
                if fault is not None:
                    early = await self._fault_before(fault)
                    if early is not None:
                        return early
                try:
                    response = await handler(**kwargs)
                except Rejected as exc:
                    response = exc.response
                return await self._fault_after(fault, response)

            self.app.add_url_rule(rule, endpoint=key, view_func=view, methods=methods)
            return handler

        return register

    async def _fault_before(self, fault: Fault) -> Response | None:
        if fault.kind == "status":
            status = int(fault.params.get("status", 503))
            return pages.problem(status, fault.params.get("detail"))
        if fault.kind == "latency":
            await asyncio.sleep(float(fault.params.get("seconds", 1.0)))
        elif fault.kind == "rate_limit":
            reset = int(time.time() + float(fault.params.get("reset_in", 60)))
            limit = int(fault.params.get("limit", 300))
            return pages.problem(429, headers=rate_headers(limit, 0, reset))
        elif fault.kind == "drop_before":
            # ASGI cannot close a connection without answering; the closest is to
            # break off the answer before doing any of the work.
            return Response(dropped_body(), status=200, content_type="application/json")
        return None

    async def _fault_after(self, fault: Fault | None, response: Response) -> Response:
        if fault is None:
            return response
        if fault.kind == "drop_after_store":
            return Response(dropped_body(), status=response.status_code, content_type="application/json")
        if fault.kind == "hang_after_store":
            await self.faults.hold(fault)
        return response


Handler = Callable[..., Awaitable[Response]]


def rate_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(max(remaining, 0)),
        "x-rate-limit-reset": str(reset),
    }


def display_text(text: str) -> str:
    """``text`` as X shows it back: URLs become t.co links, ``& < >`` are escaped."""
    out, last = [], 0
    for start, end in url_spans(text):
        out.append(escape(text[last:start], quote=False))
        out.append("https://t.co/" + secrets.token_urlsafe(8)[:10].replace("-", "a").replace("_", "b"))
        last = end
    out.append(escape(text[last:], quote=False))
    return unicodedata.normalize("NFC", "".join(out))


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
