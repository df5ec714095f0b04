"""The retry policy's arithmetic: full jitter, caps, Retry-After, budgets."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from phaseo_mcp.config import RetryPolicy
from phaseo_mcp.gateway.retry import parse_retry_after, retry_delay, within_budget


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    """Retry delays spread over zero to the capped exponential of the attempt, never past it."""
    policy = RetryPolicy()
    rng = random.Random(7)
    for attempt in range(8):
        ceiling = min(8.0, 1.0 * 2**attempt)
        delays = [retry_delay(policy, attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # it really spreads over the range


def test_longer_retry_after_wins_shorter_does_not() -> None:
    """A longer Retry-After replaces the backoff; a shorter one does not shorten it."""
    policy = RetryPolicy()
    assert retry_delay(policy, 0, retry_after=30.0, rng=random.Random(1)) == 30.0
    assert retry_delay(policy, 3, retry_after=0.0, rng=random.Random(1)) <= 8.0


def test_testing_switch_zeroes_every_wait() -> None:
    """The zero_waits switch makes every retry delay zero, Retry-After included."""
    assert retry_delay(RetryPolicy(zero_waits=True), 5, retry_after=60.0) == 0.0


def test_retry_after_as_seconds_or_http_date() -> None:
    """Retry-After is read as seconds or an HTTP date; anything else is ignored."""
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(date, now=now.timestamp()) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_budget_refuses_a_retry_that_would_outlive_it() -> None:
    """A retry whose delay would end past the deadline is refused; no deadline allows any."""
    assert within_budget(10.0, 1.0, 12.0)
    assert not within_budget(10.0, 3.0, 12.0)
    assert within_budget(10.0, 1e9, None)
