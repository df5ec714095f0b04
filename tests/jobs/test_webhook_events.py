"""Webhook events in the journal (issue 17), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import anyio
import pytest

from phaseo_mcp.gateway.webhook_signing import WebhookEvent
from phaseo_mcp.jobs.webhook_events import WakeBoard, record_event

from journal_stores import Store

DONE = WebhookEvent("evt_video_G-1_video.completed", "G-1", "video.completed", "completed")


def test_an_event_is_recorded_once_and_survives_reopening(store: Store) -> None:
    """The first delivery is new; a retry of it, even after a restart, is not."""
    journal = store.open()
    assert record_event(journal, DONE) is True
    assert record_event(journal, DONE) is False
    journal.close()
    assert record_event(store.open(), DONE) is False
    rows = store.query("SELECT event_id, video_id, event_type FROM webhook_events")
    assert rows == [("evt_video_G-1_video.completed", "G-1", "video.completed")]


def test_old_events_are_forgotten_after_two_days(store: Store) -> None:
    """Recording a completion drops events received more than two days earlier."""
    journal = store.open()
    old = WebhookEvent("evt_old", "G-0", "video.completed", "completed")
    assert record_event(journal, old, now=1_000.0)
    assert record_event(journal, DONE, now=1_000.0 + 3 * 24 * 3600)
    assert [r[0] for r in store.query("SELECT event_id FROM webhook_events")] == [DONE.event_id]


@pytest.mark.anyio
async def test_a_wake_rings_every_waiter_of_the_job_and_later_ones_too() -> None:
    """Waiters on the job ring; others do not; a wait that starts after the event starts rung."""
    board = WakeBoard()
    with board.waiting("G-1") as a, board.waiting("G-1") as b, board.waiting("G-2") as other:
        assert board.wake("G-1") == 2
        with anyio.fail_after(5):
            await a.event.wait()
            await b.event.wait()
        assert not other.event.is_set()
    with board.waiting("G-1") as late:
        assert late.event.is_set()
    assert board.waiters == {}
