"""What the worker does with a failure: the classes of error, and when to try again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from gateway.errors import (
    AuthExpired,
    ConfigError,
    GatewayError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from gateway.settings import Settings

#: a publish (or a check) that met this many transient errors in a row gives up
MAX_TRANSIENT_FAILURES = 5
#: the longest the backoff grows to (a platform's own reset time may be later)
MAX_BACKOFF = timedelta(hours=1)


class Kind(StrEnum):
    RATE_LIMITED = "rate_limited"  #: retry at the platform's reset time
    TRANSIENT = "transient"  #: nothing happened on the platform: retry with backoff, a bounded number of times
    AUTH = "auth"  #: refresh the credentials once, then retry
    PERMANENT = "permanent"  #: the platform refused: FAILED with its message
    UNKNOWN = "unknown"  #: the request may have reached the platform: look before trying again


def classify(exc: BaseException) -> Kind:
    """The class of a failure of a platform call that may have sent something.

    Anything a plugin did not classify (a bare ``PlatformError``, a bug that
    raised ``KeyError`` after the platform answered) counts as UNKNOWN: the
    post may be out, so the worker reconciles rather than risk a duplicate.
    Configuration problems (the plugin is missing or not configured on this
    worker) are raised before anything is sent: TRANSIENT, an operator may fix them.
    """
    if isinstance(exc, RateLimited):
        return Kind.RATE_LIMITED
    if isinstance(exc, TransientError):
        return Kind.TRANSIENT
    if isinstance(exc, AuthExpired):
        return Kind.AUTH
    if isinstance(exc, PermanentError):
        return Kind.PERMANENT
    if isinstance(exc, OutcomeUnknown):
        return Kind.UNKNOWN
    if isinstance(exc, (ConfigError, InvalidRequest, NotFound)):
        return Kind.TRANSIENT
    return Kind.UNKNOWN


def describe(exc: BaseException) -> tuple[str, str]:
    """(code, message) to record; a message of ours is safe to show, anything else is summarised."""
    if isinstance(exc, GatewayError):
        return exc.code, exc.message
    return "unexpected_error", f"The platform plugin failed unexpectedly ({type(exc).__name__}: {exc})."


def backoff(settings: Settings, failures: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: the n-th failure waits between half and all of base x 2^(n-1)."""
    base = settings.retry_delay_ms / 1000
    ceiling = min(base * 2 ** max(failures - 1, 0), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=ceiling * (0.5 + 0.5 * (rng or random).random()))


def retry_time(settings: Settings, exc: BaseException, failures: int, now: datetime | None = None) -> datetime:
    """When to try again: the platform's reset time for a rate limit (never earlier than the backoff,
    which grows when a platform keeps refusing without a precise reset), else the backoff."""
    current = now or datetime.now(UTC)
    at = current + backoff(settings, failures)
    if isinstance(exc, RateLimited) and exc.retry_at is not None:
        at = max(at, exc.retry_at)
    return at
