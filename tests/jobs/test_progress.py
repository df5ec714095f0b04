"""Progress values rise strictly and heartbeats never pass the next real value."""

from __future__ import annotations

import random

import pytest

from phaseo_mcp.clock import Clock
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.jobs.wait import PollPacer, ProgressReporter, wait_for_job

pytestmark = pytest.mark.anyio


def _job(status: str, progress: float | None) -> Job:
    return Job(
        video_id="G-1",
        status=status,
        gateway_status=status,
        progress=progress,
        poll_after_seconds=2,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(20))
async def test_series_is_strictly_increasing_and_heartbeats_stay_below_next_real(seed: int) -> None:
    """Reported progress only rises, and heartbeats never reach the next real value."""
    rng = random.Random(seed)
    seen: list[float] = []

    async def record(value: float, message: str) -> None:
        seen.append(value)

    reporter = ProgressReporter(record)
    real = 0
    heartbeats: list[tuple[float, list[float]]] = []
    for _ in range(30):
        real = min(99, real + rng.choice([0, 0, 1, 5, 10]))
        await reporter.real_value(_job("processing", real if rng.random() > 0.2 else None))
        start = len(seen)
        for _ in range(rng.randint(0, 5)):
            await reporter.heartbeat("working")
        heartbeats.append((real, seen[start:]))
    await reporter.real_value(_job("completed", 100))
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == 100
    # a heartbeat after real value r never reaches r + 1, so it cannot pass the next real value
    assert all(v < r + 1 for r, values in heartbeats for v in values)


async def test_no_callback_means_nothing_happens() -> None:
    """Without a progress callback, reporting records nothing and raises nothing."""
    reporter = ProgressReporter(None)
    await reporter.real_value(_job("processing", 50))
    await reporter.heartbeat("x")
    assert reporter.last is None


async def test_the_poll_that_ends_a_wait_sends_no_progress() -> None:
    """Nothing is reported between the terminal poll and the result: a notification written
    right before the result can be handled after it (TypeScript clients then drop it)."""
    events: list[str] = []
    answers = iter([_job("processing", 40), _job("processing", 80), _job("completed", 100)])

    async def fetch(deadline: float) -> Job:
        job = next(answers)
        events.append(f"poll {job.status}")
        return job

    async def record(value: float, message: str) -> None:
        events.append(f"progress {value:g}")

    job, exhausted = await wait_for_job(
        "G-1",
        fetch,
        budget_seconds=600,
        clock=Clock(scale=1e4),
        poll_floor=1,
        heartbeat=10,
        pacer=PollPacer(),
        on_progress=record,
    )
    assert (job.status, exhausted) == ("completed", False)
    assert events == [
        "poll processing",
        "progress 40",
        "poll processing",
        "progress 80",
        "poll completed",
    ]


@pytest.mark.parametrize("final", ["completed", "failed", "expired", "unknown"])
async def test_no_progress_after_the_final_poll_whatever_the_ending(final: str) -> None:
    """Every poll but the last is followed by its notification; the last (completed, failed,
    expired or an unknown status) by nothing, and no notification names the ending."""
    script = [_job("queued", None), _job("processing", 30), _job("processing", 60)]
    script.append(_job(final, 100 if final == "completed" else None))
    events: list[tuple[str, str]] = []

    async def fetch(deadline: float) -> Job:
        job = script[sum(1 for kind, _ in events if kind == "poll")]
        events.append(("poll", job.status))
        return job

    async def record(value: float, message: str) -> None:
        events.append(("progress", message))

    job, exhausted = await wait_for_job(
        "G-1",
        fetch,
        budget_seconds=1e6,
        clock=Clock(scale=1e5),  # 2 s between polls is 20 µs here
        poll_floor=1.0,
        heartbeat=0.5,
        pacer=PollPacer(),
        on_progress=record,
    )
    assert (job.status, exhausted) == (final, False)
    polls = [i for i, (kind, _) in enumerate(events) if kind == "poll"]
    assert len(polls) == 4
    assert events[polls[-1] + 1 :] == []  # nothing after the final poll
    assert all(
        events[i + 1] == ("progress", script[n].status if n == 0 else f"processing {30 * n}%")
        for n, i in enumerate(polls[:-1])
    )
    assert not any(final in message for kind, message in events if kind == "progress")
