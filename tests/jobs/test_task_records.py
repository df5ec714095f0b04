"""Task rows (migration 4) on both stores: one gateway read per interval, one download lease,
owner scoping, and pruning with their jobs."""

from __future__ import annotations

import pytest

from phaseo_mcp.jobs.journal import Journal, JournalError
from phaseo_mcp.jobs.task_records import TaskRecords

from journal_stores import Store

NOW = 1_800_000_000.0


def _job(journal: Journal, video_id: str, *, key: str = "k", owner: str = "local") -> None:
    claimed = journal.claim(
        key_fingerprint=key, fingerprint=video_id, base_url="b", request={}, window_seconds=600,
        owner=owner,
    )  # fmt: skip
    assert not hasattr(claimed, "existing")
    journal.mark_created(claimed.record.row_id, video_id=video_id, status="queued")  # type: ignore[union-attr]


def test_a_read_slot_opens_once_per_interval_and_only_to_one_caller(store: Store) -> None:
    """claim_read succeeds for one caller per poll interval, never before it has passed."""
    journal = store.open()
    _job(journal, "v1")
    records = TaskRecords(journal, "k", "local")
    opened = records.open("v1", poll_seconds=5.0, message="queued", now=NOW)
    assert opened.next_read_at == NOW + 5.0 and not opened.completed
    assert not records.claim_read("v1", now=NOW + 4.9)  # the create itself was the last read
    assert records.claim_read("v1", now=NOW + 5.0)
    assert not records.claim_read("v1", now=NOW + 5.0)  # a second caller at the same moment
    assert not records.claim_read("v1", now=NOW + 9.9)
    records.note("v1", "processing", poll_seconds=20.0, now=NOW + 6)
    assert records.claim_read("v1", now=NOW + 10.0)  # the slot taken at +5 held for 5 s
    assert not records.claim_read("v1", now=NOW + 29.0)  # now the gateway's new interval
    assert records.get("v1").message == "processing"  # type: ignore[union-attr]


def test_one_download_lease_at_a_time_and_the_result_is_kept_once(store: Store) -> None:
    """Only one caller holds the download lease; a dead holder's lease expires; the first
    stored result stays and closes the read slot."""
    journal = store.open()
    _job(journal, "v1")
    records = TaskRecords(journal, "k", "local")
    records.open("v1", poll_seconds=1.0, message="m", now=NOW)
    assert records.claim_download("v1", "a", lease_seconds=60, now=NOW)
    assert not records.claim_download("v1", "b", lease_seconds=60, now=NOW + 59)
    assert records.claim_download("v1", "b", lease_seconds=60, now=NOW + 61)  # a died
    done = records.complete("v1", {"isError": False, "n": 1}, message="done", holder="b")
    assert done.completed and done.result == {"isError": False, "n": 1} and done.lock_holder is None
    again = records.complete("v1", {"n": 2}, message="late")
    assert again.result == {"isError": False, "n": 1}
    assert not records.claim_download("v1", "c", lease_seconds=60, now=NOW + 500)
    assert not records.claim_read("v1", now=NOW + 500)


def test_tasks_are_scoped_to_their_owner_and_key_and_pruned_with_their_job(store: Store) -> None:
    """Another owner or key sees no task; a task needs its job row; prune removes both."""
    journal = store.open()
    _job(journal, "v1")
    TaskRecords(journal, "k", "local").open("v1", poll_seconds=1.0, message="m")
    assert TaskRecords(journal, "k", "key-other").get("v1") is None
    assert TaskRecords(journal, "k2", "local").get("v1") is None
    with pytest.raises(JournalError):
        TaskRecords(journal, "k", "local").open("v-unknown", poll_seconds=1.0, message="m")
    assert journal.prune(older_than_days=0) == 1
    assert TaskRecords(journal, "k", "local").get("v1") is None
