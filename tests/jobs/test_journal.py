"""The job journal's behaviour: the same tests on the SQLite and the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phaseo_mcp.jobs.journal import (
    Claimed,
    Duplicate,
    Journal,
    JournalError,
)
from phaseo_mcp.jobs.journal_open import open_journal

from journal_stores import Store

KEY_A = "key-a-fingerprint"
KEY_B = "key-b-fingerprint"
FP = "f" * 64
BASE = "https://gateway.test/v1"
WINDOW = 600.0
T0 = 1_700_000_000.0
REQUEST = {"model": "veo-3", "prompt": "a red fox in snow", "seconds": 8}


@pytest.fixture
def journal(store: Store) -> Journal:
    return store.open()


def claim(journal: Journal, *, key: str = KEY_A, fp: str = FP, now: float = T0, **kw: Any) -> Any:
    return journal.claim(
        key_fingerprint=key,
        fingerprint=fp,
        base_url=BASE,
        request=kw.pop("request", REQUEST),
        window_seconds=WINDOW,
        now=now,
        **kw,
    )


def create(journal: Journal, video_id: str, *, key: str = KEY_A, now: float = T0) -> int:
    """Claim a unique fingerprint and record the job as created; returns the row id."""
    result = claim(journal, key=key, fp=f"fp-{video_id}", now=now)
    assert isinstance(result, Claimed)
    journal.mark_created(result.record.row_id, video_id=video_id, status="queued")
    return result.record.row_id


def test_claim_created_and_status_updates_are_recorded(store: Store, journal: Journal) -> None:
    """A claimed intent row becomes a created job whose status changes are kept."""
    result = claim(journal)
    assert isinstance(result, Claimed)
    intent = result.record
    assert (intent.state, intent.video_id, intent.status) == ("intent", None, None)
    assert (intent.model, intent.prompt, intent.request) == ("veo-3", REQUEST["prompt"], REQUEST)
    created = journal.mark_created(intent.row_id, video_id="vid_1", status="queued", cost_usd=0.4)
    assert (created.state, created.video_id, created.status, created.cost_usd) == (
        "created", "vid_1", "queued", 0.4,
    )  # fmt: skip
    journal.record_status(KEY_A, "vid_1", status="processing", now=T0 + 1)
    journal.record_status(KEY_A, "vid_1", status="processing", now=T0 + 2)
    done = journal.record_status(KEY_A, "vid_1", status="completed", cost_usd=0.8, now=T0 + 3)
    assert done is not None and done.row_id == intent.row_id
    assert (done.status, done.cost_usd, done.updated_at) == ("completed", 0.8, T0 + 3)
    assert journal.get(KEY_A, "vid_1") == done
    history = store.query(
        f"SELECT status FROM status_history WHERE row_id = {intent.row_id} ORDER BY id"
    )
    assert [h[0] for h in history] == ["queued", "processing", "completed"]


def test_list_jobs_is_newest_first_with_status_filter_and_limit(journal: Journal) -> None:
    """list_jobs orders by creation, filters by status (no status counts as 'unknown')."""
    for n in range(5):
        create(journal, f"vid_{n}", now=T0 + n)
    journal.record_status(KEY_A, "vid_1", status="completed")
    journal.record_status(KEY_A, "vid_3", status="failed", error="provider said no")
    pending = claim(journal, fp="pending", now=T0 + 10)
    assert isinstance(pending, Claimed)
    journal.mark_outcome_unknown(pending.record.row_id, error="timed out")

    every = journal.list_jobs(KEY_A)
    assert [j.video_id for j in every] == [None, "vid_4", "vid_3", "vid_2", "vid_1", "vid_0"]
    assert [j.video_id for j in journal.list_jobs(KEY_A, limit=2)] == [None, "vid_4"]
    finished = journal.list_jobs(KEY_A, statuses=["completed", "failed"])
    assert [(j.video_id, j.error) for j in finished] == [("vid_3", "provider said no"),
                                                         ("vid_1", None)]  # fmt: skip
    assert [j.state for j in journal.list_jobs(KEY_A, statuses=["unknown"])] == ["outcome_unknown"]
    assert journal.list_jobs(KEY_A, statuses=[]) == []


def test_duplicate_within_window_is_refused_with_the_existing_row(journal: Journal) -> None:
    """An identical claim inside the window returns the first job and inserts nothing."""
    first = claim(journal)
    assert isinstance(first, Claimed)
    journal.mark_created(first.record.row_id, video_id="vid_1", status="processing")
    again = claim(journal, now=T0 + WINDOW - 1)
    assert isinstance(again, Duplicate)
    assert (again.existing.row_id, again.existing.video_id) == (first.record.row_id, "vid_1")
    assert again.existing.status == "processing"
    journal.record_status(KEY_A, "vid_1", status="completed")
    assert isinstance(claim(journal, now=T0 + 5), Duplicate)  # completed still counts
    assert len(journal.list_jobs(KEY_A)) == 1


def test_claim_after_the_window_is_allowed(journal: Journal) -> None:
    """Once the window has passed the same request may be created again."""
    assert isinstance(claim(journal), Claimed)
    later = claim(journal, now=T0 + WINDOW)
    assert isinstance(later, Claimed)
    assert isinstance(claim(journal, now=T0 + WINDOW + 1), Duplicate)  # the new claim holds it
    assert len(journal.list_jobs(KEY_A)) == 2


@pytest.mark.parametrize("release", ["failed", "expired", "cancelled", "rejected", "deleted"])
def test_released_jobs_do_not_block_a_new_claim(journal: Journal, release: str) -> None:
    """A failed, expired, cancelled, rejected or deleted job frees the guard at once."""
    first = claim(journal)
    assert isinstance(first, Claimed)
    row_id = first.record.row_id
    if release == "rejected":
        rejected = journal.mark_rejected(row_id, error="502 provider_error")
        assert (rejected.state, rejected.error) == ("rejected", "502 provider_error")
    else:
        journal.mark_created(row_id, video_id="vid_1", status="queued")
        if release == "deleted":
            tomb = journal.mark_deleted(KEY_A, "vid_1")
            assert tomb is not None and tomb.deleted
        else:
            journal.record_status(KEY_A, "vid_1", status=release)
    second = claim(journal, now=T0 + 1)
    assert isinstance(second, Claimed)
    assert second.record.row_id != row_id
    assert isinstance(claim(journal, now=T0 + 2), Duplicate)


def test_allow_duplicate_inserts_and_takes_over_the_guard(journal: Journal) -> None:
    """allow_duplicate always makes a new row, which then holds the guard."""
    first = claim(journal)
    second = claim(journal, now=T0 + 1, allow_duplicate=True)
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    third = claim(journal, now=T0 + 2)
    assert isinstance(third, Duplicate)
    assert third.existing.row_id == second.record.row_id


def test_rows_and_guard_are_scoped_by_key_fingerprint(journal: Journal) -> None:
    """Key B neither sees nor is blocked by key A's jobs."""
    create(journal, "vid_a")
    assert isinstance(claim(journal, fp="fp-vid_a"), Duplicate)
    b = claim(journal, key=KEY_B, fp="fp-vid_a")
    assert isinstance(b, Claimed)
    assert [j.key_fingerprint for j in journal.list_jobs(KEY_B)] == [KEY_B]
    assert journal.get(KEY_B, "vid_a") is None
    assert journal.mark_deleted(KEY_B, "vid_a") is None
    with pytest.raises(JournalError):
        journal.attach_video_id(KEY_B, journal.list_jobs(KEY_A)[0].row_id, "vid_x")
    assert journal.get(KEY_A, "vid_a") is not None


def test_outcome_unknown_keeps_the_guard_until_the_id_is_attached(journal: Journal) -> None:
    """An unanswered create still blocks duplicates; attach_video_id resolves it later."""
    first = claim(journal)
    assert isinstance(first, Claimed)
    row_id = first.record.row_id
    unknown = journal.mark_outcome_unknown(row_id, error="read timeout after sending")
    assert (unknown.state, unknown.error) == ("outcome_unknown", "read timeout after sending")
    dup = claim(journal, now=T0 + 1)
    assert isinstance(dup, Duplicate) and dup.existing.state == "outcome_unknown"
    # A listing from the gateway shows the job before we tie it to our row: one row remains.
    journal.record_status(KEY_A, "vid_9", status="processing")
    resolved = journal.attach_video_id(KEY_A, row_id, "vid_9")
    assert (resolved.row_id, resolved.state, resolved.video_id) == (row_id, "created", "vid_9")
    assert resolved.status == "processing" and resolved.request == REQUEST
    assert [j.row_id for j in journal.list_jobs(KEY_A)] == [row_id]
    assert isinstance(claim(journal, now=T0 + 2), Duplicate)


def test_mark_created_merges_a_row_inserted_by_a_listing(journal: Journal) -> None:
    """If a listing recorded the new id before the create's answer, the rows merge."""
    first = claim(journal)
    assert isinstance(first, Claimed)
    journal.record_status(KEY_A, "vid_1", status="queued")
    created = journal.mark_created(first.record.row_id, video_id="vid_1", status="queued")
    assert created.fingerprint == FP
    assert [j.row_id for j in journal.list_jobs(KEY_A)] == [first.record.row_id]


def test_record_status_for_an_unknown_video_inserts_a_row(journal: Journal) -> None:
    """A job made elsewhere gets a 'created' row so list_jobs shows it."""
    row = journal.record_status(KEY_A, "vid_ext", status="completed", cost_usd=1.5, now=T0)
    assert row is not None
    assert (row.state, row.fingerprint, row.request, row.cost_usd) == ("created", "", {}, 1.5)
    again = journal.record_status(KEY_A, "vid_ext", status="expired", now=T0 + 1)
    assert again is not None and again.row_id == row.row_id and again.status == "expired"
    assert [j.video_id for j in journal.list_jobs(KEY_A)] == ["vid_ext"]


def test_downloads_are_recorded_and_found(journal: Journal) -> None:
    """find_download returns the latest download of that variant to that path, or to any
    path when none is given; never another key's."""
    create(journal, "vid_1")
    journal.record_download(KEY_A, "vid_1", index=0, path="/o/a.mp4", size=10, sha256="aa", now=T0)
    journal.record_download(KEY_A, "vid_1", index=0, path="/o/a.mp4", size=12, sha256="bb",
                            now=T0 + 1)  # fmt: skip
    found = journal.find_download(KEY_A, "vid_1", index=0, path="/o/a.mp4")
    assert found is not None
    assert (found.video_id, found.index, found.size, found.sha256) == ("vid_1", 0, 12, "bb")
    assert journal.find_download(KEY_A, "vid_1", index=1, path="/o/a.mp4") is None
    assert journal.find_download(KEY_A, "vid_1", index=0, path="/o/b.mp4") is None
    assert journal.find_download(KEY_B, "vid_1", index=0, path="/o/a.mp4") is None
    journal.record_download(KEY_A, "vid_1", index=0, path="/o/c.mp4", size=9, sha256="cc",
                            now=T0 + 2)  # fmt: skip
    latest = journal.find_download(KEY_A, "vid_1", index=0)  # to any path
    assert latest is not None and (latest.path, latest.size) == ("/o/c.mp4", 9)
    assert journal.find_download(KEY_B, "vid_1", index=0) is None
    journal.record_download(KEY_A, "vid_new", index=0, path="/o/n.mp4", size=1, sha256="cc")
    assert journal.get(KEY_A, "vid_new") is not None


def test_prune_removes_old_rows_with_their_history_and_downloads(
    store: Store, journal: Journal
) -> None:
    """prune deletes rows last updated before the cutoff, and everything with 0 days."""
    day = 86400.0
    old = create(journal, "vid_old", now=T0)
    journal.record_status(KEY_A, "vid_old", status="completed", now=T0)
    journal.record_download(KEY_A, "vid_old", index=0, path="/o/a", size=1, sha256="a", now=T0)
    journal.record_status(KEY_A, "vid_new", status="queued", now=T0 + 10 * day)
    assert isinstance(claim(journal, fp="fp-vid_old", now=T0 + 1), Duplicate)
    assert journal.prune(older_than_days=5, now=T0 + 11 * day) == 1
    assert [j.video_id for j in journal.list_jobs(KEY_A)] == ["vid_new"]
    assert journal.find_download(KEY_A, "vid_old", index=0, path="/o/a") is None
    for table in ("status_history", "downloads", "duplicate_guards"):
        assert store.query(f"SELECT COUNT(*) FROM {table} WHERE row_id = {old}") == [(0,)]
    assert isinstance(claim(journal, fp="fp-vid_old", now=T0 + 1), Claimed)  # guard went too
    assert journal.prune(older_than_days=0) == 2
    assert journal.list_jobs(KEY_A, include_deleted=True) == []


def test_journal_survives_reopening_the_store(store: Store, journal: Journal) -> None:
    """A new Journal on the same store sees old rows, downloads and the guard."""
    row_id = create(journal, "vid_1")
    journal.mark_deleted(KEY_A, "vid_1")
    create(journal, "vid_2")
    journal.record_download(KEY_A, "vid_2", index=0, path="/o/x", size=3, sha256="x")
    journal.close()
    reopened = store.open()
    assert [j.video_id for j in reopened.list_jobs(KEY_A)] == ["vid_2"]
    tomb = reopened.list_jobs(KEY_A, include_deleted=True)[-1]
    assert (tomb.row_id, tomb.deleted) == (row_id, True)
    assert reopened.find_download(KEY_A, "vid_2", index=0, path="/o/x") is not None
    assert isinstance(claim(reopened, fp="fp-vid_2", now=T0 + 1), Duplicate)


def test_unknown_row_ids_raise_a_journal_error(journal: Journal) -> None:
    """Marking a row that does not exist is an error, not a silent no-op."""
    marks: list[Callable[[], object]] = [
        lambda: journal.mark_created(999, video_id="v", status="queued"),
        lambda: journal.mark_rejected(999, error="x"),
        lambda: journal.mark_outcome_unknown(999, error="x"),
    ]
    for mark in marks:
        with pytest.raises(JournalError):
            mark()
    assert journal.mark_deleted(KEY_A, "nope") is None
    assert journal.get(KEY_A, "nope") is None


def test_sqlite_journal_file_is_private(tmp_path: Path) -> None:
    """The SQLite journal is created with its state directory, mode 0600."""
    state = tmp_path / "deep" / "state"
    journal = open_journal(journal_url=None, state_dir=state)
    try:
        create(journal, "vid_1")
        files = sorted(state.glob("journal.sqlite3*"))
        assert [f.name for f in files] == ["journal.sqlite3", "journal.sqlite3-shm",
                                           "journal.sqlite3-wal"]  # fmt: skip
        assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    finally:
        journal.close()


def test_unusable_stores_raise_clear_errors(tmp_path: Path) -> None:
    """A state dir that is a file, or a non-PostgreSQL URL, is a JournalError."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="PHASEO_STATE_DIR"):
        open_journal(journal_url=None, state_dir=blocker)
    with pytest.raises(JournalError, match="postgresql://") as info:
        open_journal(journal_url="mysql://u:hunter2pw@db/x", state_dir=tmp_path)
    assert "hunter2pw" not in str(info.value)


def test_secret_fields_are_never_stored_at_any_depth(journal: Journal) -> None:
    """The journal drops every field fingerprint.is_secret_field calls secret, nested too."""
    request = {
        "prompt": "a lake",
        "webhook": {"url": "https://hooks.test/x", "secret": "whsec_1"},
        "provider_params": {"Client-Secret": "s1", "password": "p1", "items": [{"token": "t"}]},
        "X-Api-Key": "k1",
    }
    result = claim(journal, request=request)
    assert isinstance(result, Claimed)
    assert result.record.request == {
        "prompt": "a lake",
        "webhook": {"url": "https://hooks.test/x"},
        "provider_params": {"items": [{}]},
    }
