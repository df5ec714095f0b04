"""Safety-net polls (webhooks on) drift apart: each interval is drawn from the top quarter
below its full length, never under the gateway's own interval; plain polling keeps its cadence.
"""

from __future__ import annotations

import random

import anyio
import pytest

from phaseo_mcp.clock import Clock
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.jobs.wait import SAFETY_NET_SPREAD, PollPacer, poll_interval, wait_for_job
from phaseo_mcp.jobs.webhook_events import Waiter

pytestmark = pytest.mark.anyio
WAITS = 50


def _job(video_id: str, poll_after: int = 4) -> Job:
    return Job(
        video_id=video_id,
        status="processing",
        gateway_status="processing",
        progress=None,
        poll_after_seconds=poll_after,
    )


@pytest.mark.parametrize(
    ("gateway_says", "draw", "expected"),
    [
        (10, 0.0, 30.0),  # the full length: 4 x 10 s, capped at 30 s
        (10, 0.999_999, 30.0 * (1 - SAFETY_NET_SPREAD * 0.999_999)),  # about 22.5 s
        (5, 0.5, 20.0 * (1 - SAFETY_NET_SPREAD / 2)),
        (25, 0.999_999, 25.0),  # never under the gateway's own interval
        (45, 0.5, 45.0),  # the gateway asks for longer than the cap: no spread
    ],
)
def test_a_drawn_interval_stays_between_three_quarters_and_the_full_length(
    gateway_says: int, draw: float, expected: float
) -> None:
    """The draw shortens the safety net's interval by at most a quarter, and never below the
    gateway's poll_after_seconds."""
    job = _job("G-1", gateway_says)
    assert poll_interval(job, 1.0, 4.0, lambda: draw) == pytest.approx(expected)
    assert poll_interval(job, 1.0, 1.0, lambda: draw) == gateway_says  # no safety net


async def _second_poll_times(*, with_waiter: bool, draw: random.Random) -> list[float]:
    """Start WAITS waits at one instant on a still clock; when each one polls a second time."""
    clock = Clock(0)
    start = clock.now()
    seconds: dict[str, list[float]] = {}

    def fetcher(video_id: str):  # type: ignore[no-untyped-def]
        async def fetch(deadline: float) -> Job:
            seconds.setdefault(video_id, []).append(clock.now() - start)
            return _job(video_id)

        return fetch

    async def wait(video_id: str) -> None:
        await wait_for_job(
            video_id,
            fetcher(video_id),
            budget_seconds=60,
            clock=clock,
            poll_floor=1.0,
            heartbeat=100.0,
            pacer=PollPacer(),
            waiter=Waiter() if with_waiter else None,
            slow_factor=4.0,
            draw=draw.random,
        )

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for i in range(WAITS):
                tg.start_soon(wait, f"G-{i}")
            while len(seconds) < WAITS or clock.sleepers < WAITS:
                await anyio.sleep(0.001)
            for _ in range(17):  # 17 x 1 s: past the longest safety-net interval (16 s)
                clock.advance(1.0)
                await anyio.sleep(0.005)
            tg.cancel_scope.cancel()
    return [times[1] for times in seconds.values() if len(times) > 1]


async def test_safety_net_polls_of_waits_begun_together_are_spread_out() -> None:
    """Fifty waits that began at one instant make their second read over the top quarter of
    the 16 s safety-net interval (12-16 s), not all at 16 s; without webhooks every second
    read comes exactly one gateway interval (4 s) after the first."""
    spread = await _second_poll_times(with_waiter=True, draw=random.Random(17))
    assert len(spread) == WAITS
    assert all(12.0 <= t <= 16.0 for t in spread), spread
    assert len({round(t) for t in spread}) >= 4  # 12, 13, 14, 15, 16: several seconds apart
    polling = await _second_poll_times(with_waiter=False, draw=random.Random(17))
    assert polling == [4.0] * WAITS
