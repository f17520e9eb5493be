"""The worker's policy as plain functions: how errors are classified, how long it waits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.errors import (
    AuthExpired,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)
from gateway.settings import Settings
from worker.policy import MAX_BACKOFF, Kind, backoff, classify, retry_time

SETTINGS = Settings(retry_delay_ms=1000)


def test_every_error_class_has_its_treatment():
    assert classify(RateLimited("slow down")) is Kind.RATE_LIMITED
    assert classify(TransientError("503")) is Kind.TRANSIENT
    assert classify(ConfigError("not configured")) is Kind.TRANSIENT  # raised before anything is sent
    assert classify(AuthExpired("401")) is Kind.AUTH
    assert classify(PermanentError("no")) is Kind.PERMANENT
    assert classify(OutcomeUnknown("timeout after sending")) is Kind.UNKNOWN
    # what a plugin did not classify may have been sent: never retried blindly
    assert classify(PlatformError("?")) is Kind.UNKNOWN
    assert classify(KeyError("id")) is Kind.UNKNOWN


def test_backoff_doubles_with_jitter_and_has_a_ceiling():
    rng = random.Random(7)
    for failures, base in ((1, 1), (2, 2), (3, 4), (5, 16)):
        for _ in range(50):
            delay = backoff(SETTINGS, failures, rng=rng).total_seconds()
            assert base / 2 <= delay <= base
    assert backoff(SETTINGS, 40, rng=rng) <= MAX_BACKOFF


def test_a_rate_limit_waits_for_the_reset_time_but_never_less_than_the_backoff():
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    reset = now + timedelta(minutes=15)
    assert retry_time(SETTINGS, RateLimited("429", retry_at=reset), 1, now) == reset
    soon = RateLimited("429", retry_at=now + timedelta(seconds=1))
    assert retry_time(SETTINGS, soon, 8, now) >= now + timedelta(seconds=64)  # the platform keeps refusing
    assert now < retry_time(SETTINGS, TransientError("503"), 1, now) <= now + timedelta(seconds=1)
