"""What is safe to retry, and how long to wait: full-jitter backoff, Retry-After, budgets.

The policy itself (counts, base, cap, the testing switch) lives in ``config.RetryPolicy``.
"""

from __future__ import annotations

import logging
import random
import time
from email.utils import parsedate_to_datetime

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import RetryPolicy

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (attempt counts from 0).

    Full jitter: uniform in [0, min(cap, base * 2**attempt)]; a longer Retry-After wins.
    """
    if policy.zero_waits:
        return 0.0
    ceiling = min(policy.backoff_cap_seconds, policy.backoff_base_seconds * (2**attempt))
    delay = (rng or random).uniform(0.0, ceiling)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


def within_budget(now: float, delay: float, deadline: float | None) -> bool:
    """A retry may only start if its wait ends before the caller's deadline."""
    return deadline is None or now + delay < deadline


class Backoff:
    """The one backoff loop: count attempts, wait between them, stop when the policy or the
    caller's deadline says so. Every retrying loop (a request, a download) goes through it;
    each logs its retries under its own logger."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        deadline: float | None = None,
        *,
        logger: logging.Logger = log,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.logger = logger
        self.attempt = 0  # retries made so far

    async def retry_or_raise(
        self, failure: BaseException, what: str, retry_after: float | None = None
    ) -> None:
        """Wait before the next attempt, or raise ``failure`` when no retry is left or its
        wait would end after the deadline. ``what`` names the attempt in the log."""
        delay = retry_delay(self.policy, self.attempt, retry_after)
        if self.attempt >= self.policy.max_retries or not within_budget(
            self.clock.now(), delay, self.deadline
        ):
            raise failure from None
        self.attempt += 1
        self.logger.info("retrying %s in %.2fs (attempt %d)", what, delay, self.attempt)
        await self.clock.sleep(delay)
