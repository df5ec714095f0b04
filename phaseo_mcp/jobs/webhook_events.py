"""Webhook events as hints: each recorded once, durably, then waking the waits on its job.

:func:`record_event` inserts the event id into the journal's ``webhook_events`` table
(``ON CONFLICT DO NOTHING``): the first delivery of an event is new, every retry of it is not.
With the PostgreSQL journal the same transaction sends ``NOTIFY`` on :data:`CHANNEL` with the
video id, so every replica listening (``wake_listener.py``) learns of it at commit, never
before the record is durable. :class:`WakeBoard` holds this process's waiting calls by video
id; an event only wakes them; the wait then reads the job from the gateway itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio

from phaseo_mcp.gateway.webhook_signing import WebhookEvent
from phaseo_mcp.jobs.journal import Journal, JournalError
from phaseo_mcp.jobs.journal_sql import SqlJournal

CHANNEL = "phaseo_mcp_webhooks"
KEEP_EVENTS_SECONDS = 2 * 24 * 3600.0  # far beyond the gateway's last retry (~21 min)
MAX_RUNG = 10_000


def record_event(journal: Journal, event: WebhookEvent, *, now: float | None = None) -> bool:
    """Record the event durably; True when it is new (False: a retry already recorded)."""
    from phaseo_mcp.jobs.journal_postgres import PostgresJournal

    if not isinstance(journal, SqlJournal):
        raise JournalError("this journal cannot record webhook events")
    at = time.time() if now is None else now
    with journal._transaction(write=True) as tx:
        added = tx.run(
            "INSERT INTO webhook_events (event_id, video_id, event_type, received_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (event.event_id, event.video_id, event.event_type, at),
        )
        if added and event.terminal:
            tx.run("DELETE FROM webhook_events WHERE received_at < ?", (at - KEEP_EVENTS_SECONDS,))
            if isinstance(journal, PostgresJournal):
                tx.one("SELECT pg_notify(?, ?)", (CHANNEL, event.video_id))
    return bool(added)


@dataclass(eq=False)
class Waiter:
    """One waiting call's doorbell: set when an event says its job may have ended."""

    event: anyio.Event = field(default_factory=anyio.Event)

    def rearm(self) -> None:
        self.event = anyio.Event()


@dataclass
class WakeBoard:
    """The waits of this process by video id. Call :meth:`wake` on the event loop."""

    waiters: dict[str, set[Waiter]] = field(default_factory=dict)
    # Jobs an event has rung for: a wait that starts later (the next wait_for_video call)
    # reads the job at once instead of sleeping out the poll pacing first.
    rung: dict[str, None] = field(default_factory=dict)

    @contextmanager
    def waiting(self, video_id: str) -> Iterator[Waiter]:
        waiter = Waiter()
        if video_id in self.rung:
            waiter.event.set()
        self.waiters.setdefault(video_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            group = self.waiters.get(video_id)
            if group is not None:
                group.discard(waiter)
                if not group:
                    del self.waiters[video_id]

    def wake(self, video_id: str) -> int:
        """Ring every waiter on the job; how many there were."""
        if len(self.rung) >= MAX_RUNG:
            del self.rung[next(iter(self.rung))]
        self.rung[video_id] = None
        group = self.waiters.get(video_id, set())
        for waiter in group:
            waiter.event.set()
        return len(group)
