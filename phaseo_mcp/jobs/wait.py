"""Poll a job within a budget, reporting progress through a plain callback.

Polls never come faster than ``max(poll_after_seconds, floor)`` — not within one wait and
not across consecutive waits on the same job (``PollPacer``). Between polls a heartbeat
goes out at least every ``heartbeat`` seconds. Reported values rise strictly: the real
progress when the gateway gives one, otherwise a heartbeat that creeps towards (and never
reaches) ``real + 1``, so it can never pass the next real value. The poll that ends a wait
reports nothing: its result is the last word, and no notification sits right before it.

With a ``waiter`` (webhooks on, for a job that carries ours), polling is the safety net: the
interval grows by ``slow_factor`` (never past ``MAX_WEBHOOK_POLL_SECONDS`` unless the gateway
asks for longer), and a webhook event rings the waiter, which polls at once: that read, not
the event, decides whether the job has ended. Each safety-net interval is drawn from the top
quarter below its full length (never under the gateway's own interval): waits that began
together drift apart instead of polling in one burst every few seconds, and a burst of
safety-net reads is what delayed the confirming reads of events landing beside it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import DEFAULT_POLL_AFTER_SECONDS, MAX_WEBHOOK_POLL_SECONDS
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.jobs.webhook_events import Waiter

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


SAFETY_NET_SPREAD = 0.25  # a safety-net interval is 75-100 % of its full length
Draw = Callable[[], float]  # a number in [0, 1)


def poll_interval(
    job: Job, floor: float, slow_factor: float = 1.0, draw: Draw | None = None
) -> float:
    """The gateway's interval (at least ``floor``); with ``slow_factor`` above 1, the safety
    net's: that many times longer, at most 30 s unless the gateway asks for longer, and with a
    ``draw`` spread over the top quarter of that length, never under the gateway's interval."""
    base = max(job.poll_after_seconds or DEFAULT_POLL_AFTER_SECONDS, floor)
    slow = max(base, min(base * slow_factor, MAX_WEBHOOK_POLL_SECONDS))
    if draw is None or slow <= base:
        return slow
    return max(base, slow * (1 - SAFETY_NET_SPREAD * draw()))


async def _nap(clock: Clock, seconds: float, waiter: Waiter | None) -> bool:
    """Sleep ``seconds`` of clock time; True when the waiter rang first."""
    if waiter is None:
        await clock.sleep(seconds)
        return False
    if waiter.event.is_set():
        return True
    async with anyio.create_task_group() as tg:  # whichever comes first: the time, or the bell

        async def ring(event: anyio.Event) -> None:
            await event.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(ring, waiter.event)
        await clock.sleep(seconds)
        tg.cancel_scope.cancel()
    return waiter.event.is_set()


async def _sleep_with_heartbeats(
    clock: Clock,
    seconds: float,
    heartbeat: float,
    reporter: ProgressReporter,
    label: str,
    waiter: Waiter | None = None,
) -> bool:
    """Sleep with heartbeats; True when a webhook event cut the sleep short."""
    end = clock.now() + seconds
    while (left := end - clock.now()) > 0:
        if await _nap(clock, min(heartbeat, left), waiter):
            return True
        if end - clock.now() > 0:
            await reporter.heartbeat(f"{label} (still working)")
    return False


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
    waiter: Waiter | None = None,
    slow_factor: float = 1.0,
    draw: Draw = random.random,
) -> tuple[Job, bool]:
    """Poll until terminal, an unknown status, or the budget ends.

    Returns the latest job and whether the budget ran out first. ``draw`` spreads the
    safety-net intervals (only with a ``waiter``).
    """
    reporter = ProgressReporter(on_progress)
    deadline = clock.now() + budget_seconds
    factor = slow_factor if waiter is not None else 1.0
    early = pacer.not_before(video_id) - clock.now()
    if early > 0:
        await _sleep_with_heartbeats(
            clock,
            min(early, max(deadline - clock.now(), 0)),
            heartbeat,
            reporter,
            "waiting",
            waiter,
        )
    while True:
        if waiter is not None:
            waiter.rearm()  # an event from here on asks for another read
        started = clock.now()
        job = await fetch(deadline)
        interval = poll_interval(job, poll_floor, factor, draw if waiter is not None else None)
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
            if await _sleep_with_heartbeats(clock, left, heartbeat, reporter, job.status, waiter):
                continue
            return job, True
        await reporter.real_value(job)
        await _sleep_with_heartbeats(
            clock, next_poll - clock.now(), heartbeat, reporter, job.status, waiter
        )
