"""Poll a job within a budget, reporting progress through a plain callback.

Polls never come faster than ``max(poll_after_seconds, floor)`` — not within one wait and
not across consecutive waits on the same job (``PollPacer``). Between polls a heartbeat
goes out at least every ``heartbeat`` seconds. Reported values rise strictly: the real
progress when the gateway gives one, otherwise a heartbeat that creeps towards (and never
reaches) ``real + 1``, so it can never pass the next real value. The poll that ends a wait
reports nothing: its result is the last word, and no notification sits right before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import DEFAULT_POLL_AFTER_SECONDS
from phaseo_mcp.gateway.job import Job

ProgressCallback = Callable[[float, str], Awaitable[None]]
Fetch = Callable[[float], Awaitable[Job]]  # deadline (clock time) -> the job, one GET


@dataclass
class PollPacer:
    """When each job may be polled next, shared by every wait in the process."""

    next_poll: dict[str, float] = field(default_factory=dict)

    def not_before(self, video_id: str) -> float:
        return self.next_poll.get(video_id, float("-inf"))

    def polled(self, video_id: str, at: float, interval: float) -> None:
        if len(self.next_poll) > 10_000:
            self.next_poll.clear()
        self.next_poll[video_id] = at + interval


class ProgressReporter:
    """Turns real progress and heartbeats into one strictly increasing series."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.last: float | None = None
        self.real = 0.0

    async def _emit(self, value: float, message: str) -> None:
        if self.callback is None or (self.last is not None and value <= self.last):
            return
        self.last = value
        await self.callback(value, message)

    async def real_value(self, job: Job) -> None:
        if job.status == "completed":
            value = 100.0
        else:
            value = min(job.progress or 0.0, 99.0)
        self.real = max(self.real, value)
        label = f"{job.status} {job.progress:.0f}%" if job.progress is not None else job.status
        if self.last is not None and self.real <= self.last:
            await self.heartbeat(label)
        else:
            await self._emit(self.real, label)

    async def heartbeat(self, message: str) -> None:
        ceiling = min(self.real + 1.0, 100.0)
        base = self.real if self.last is None else max(self.last, self.real)
        value = base + (ceiling - base) / 4
        if value < ceiling:
            await self._emit(value, message)


def poll_interval(job: Job, floor: float) -> float:
    return max(job.poll_after_seconds or DEFAULT_POLL_AFTER_SECONDS, floor)


async def _sleep_with_heartbeats(
    clock: Clock, seconds: float, heartbeat: float, reporter: ProgressReporter, label: str
) -> None:
    end = clock.now() + seconds
    while (left := end - clock.now()) > 0:
        await clock.sleep(min(heartbeat, left))
        if end - clock.now() > 0:
            await reporter.heartbeat(f"{label} (still working)")


async def wait_for_job(
    video_id: str,
    fetch: Fetch,
    *,
    budget_seconds: float,
    clock: Clock,
    poll_floor: float,
    heartbeat: float,
    pacer: PollPacer,
    on_progress: ProgressCallback | None = None,
) -> tuple[Job, bool]:
    """Poll until terminal, an unknown status, or the budget ends.

    Returns the latest job and whether the budget ran out first.
    """
    reporter = ProgressReporter(on_progress)
    deadline = clock.now() + budget_seconds
    early = pacer.not_before(video_id) - clock.now()
    if early > 0:
        await _sleep_with_heartbeats(
            clock, min(early, max(deadline - clock.now(), 0)), heartbeat, reporter, "waiting"
        )
    while True:
        started = clock.now()
        job = await fetch(deadline)
        interval = poll_interval(job, poll_floor)
        # Pace from the poll's start, so slow answers under load do not push polls later.
        next_poll = started + interval
        pacer.polled(video_id, started, interval)
        if job.terminal or job.status == "unknown":
            # No notification for the poll that ends the wait: the result follows at once, and
            # TypeScript clients that read both in one chunk handle the result first and drop
            # the notification as an unknown token (typescript-sdk#2580).
            return job, False
        if next_poll >= deadline:
            left = deadline - clock.now()
            if left <= 0:  # this poll ends the wait too: the result is its only report
                return job, True
            await reporter.real_value(job)
            await _sleep_with_heartbeats(clock, left, heartbeat, reporter, job.status)
            return job, True
        await reporter.real_value(job)
        await _sleep_with_heartbeats(
            clock, next_poll - clock.now(), heartbeat, reporter, job.status
        )
