"""A fake X for tests and ``gateway sandbox``: it checks what X checks.

``create_fake_x()`` returns a :class:`FakeX` whose ``.app`` is a Quart (ASGI)
app. Serve it on loopback (``gateway.testing.serve_asgi``) and point the plugin
at it. It imitates, with X's status codes and error bodies:

- OAuth 1.0a: every request's HMAC-SHA1 signature is recomputed from the real
  method, URL, query and form parameters; a wrong consumer key, an unknown
  token, a stale timestamp and a replayed nonce are refused (401). Request
  tokens and verifiers are single-use; ``oauth_callback`` is required and
  confirmed. ``GET /oauth/authorize`` serves a page with "Authorize app" and
  "Cancel" (choose the account with ``user=``, id or username).
- ``POST /2/tweets``: the JSON body must really arrive (an empty body or another
  content type is a 400), weighted text length at most 280 (403), no duplicate
  text per user (403), a reply target must exist (403). Stored tweets are in
  ``fake.tweets``; X's answers show URLs as t.co links.
- ``GET /2/users/me``, ``GET /2/users/:id/tweets`` (newest first, ``start_time``,
  ``max_results`` 5-100, ``pagination_token``), ``DELETE /2/tweets/:id``.
- A per-user rate limit per route with X's ``x-rate-limit-*`` headers
  (``rate_limits={"POST /2/tweets": (300, 10800), ...}``).
- Faults through :class:`gateway.fakes.Faults` (``fake.faults``), keyed by the
  route names in :data:`ROUTES` (``"POST /2/tweets"``, ``"DELETE /2/tweets/:id"``...).
"""

from __future__ import annotations

from typing import Any

from gateway_twitter.fake_routes import install
from gateway_twitter.fake_state import (
    DEFAULT_RATE_LIMITS,
    DEFAULT_USER,
    ROUTES,
    AccessToken,
    FakeTweet,
    FakeUser,
    FakeX,
    RequestToken,
)

SANDBOX_CONSUMER_KEY = "sandbox-consumer-key"
SANDBOX_CONSUMER_SECRET = "sandbox-consumer-secret"


def create_fake_x(
    *,
    consumer_key: str = SANDBOX_CONSUMER_KEY,
    consumer_secret: str = SANDBOX_CONSUMER_SECRET,
    **options: Any,
) -> FakeX:
    """A fresh fake X with its default user.

    ``options``: ``rate_limits`` (route -> (requests, window seconds)),
    ``timestamp_window`` (seconds), ``request_token_ttl`` (seconds),
    ``allowed_callbacks`` (None: any http(s) URL or ``oob``).
    """
    fake = FakeX(consumer_key=consumer_key, consumer_secret=consumer_secret, **options)
    install(fake)
    return fake


__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DEFAULT_USER",
    "ROUTES",
    "SANDBOX_CONSUMER_KEY",
    "SANDBOX_CONSUMER_SECRET",
    "AccessToken",
    "FakeTweet",
    "FakeUser",
    "FakeX",
    "RequestToken",
    "create_fake_x",
]
