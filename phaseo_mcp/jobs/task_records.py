"""Task records: what the MCP Tasks extension needs beyond the job rows (migration 4).

One row per task, keyed like the jobs it follows: (key fingerprint, owner, video id), and
deleted with its job row (``ON DELETE CASCADE``, so ``journal prune`` forgets both). The row
holds no task state of its own beyond what makes the extension's promises hold across
processes and replicas:

- ``next_read_at``: the earliest wall-clock time any replica may read the job at the gateway
  again. A read is claimed with one conditional ``UPDATE`` (never read-then-write), so however
  often hosts call ``tasks/get`` on however many replicas, the gateway is read at most once
  per poll interval.
- ``lock_holder``/``lock_until``: the lease of the one call that downloads a completed job;
  the others answer from the record. A holder that died loses the lease when it expires.
- ``result``: the finished ``CallToolResult`` (JSON), answered from then on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from pydantic import BaseModel, ConfigDict

from phaseo_mcp.jobs.journal import Journal, JournalError
from phaseo_mcp.jobs.journal_schema import Transaction

TASKS_MIGRATION = [
    "CREATE TABLE IF NOT EXISTS tasks ("
    "row_id BIGINT NOT NULL REFERENCES jobs (row_id) ON DELETE CASCADE, "
    "key_fingerprint TEXT NOT NULL, owner TEXT NOT NULL, video_id TEXT NOT NULL, "
    "created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, "
    "poll_seconds DOUBLE PRECISION NOT NULL, next_read_at DOUBLE PRECISION NOT NULL, "
    "message TEXT, cancel_note TEXT, result TEXT, lock_holder TEXT, "
    "lock_until DOUBLE PRECISION, PRIMARY KEY (key_fingerprint, owner, video_id))",
    "CREATE INDEX IF NOT EXISTS tasks_row ON tasks (row_id)",
]
_COLUMNS = (
    "video_id, created_at, updated_at, poll_seconds, next_read_at, message, cancel_note, "
    "result, lock_holder, lock_until"
)
_KEY = "key_fingerprint = ? AND owner = ? AND video_id = ?"


class TaskRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    video_id: str
    created_at: float
    updated_at: float
    poll_seconds: float  # real seconds between gateway reads
    next_read_at: float
    message: str | None
    cancel_note: str | None
    result: dict[str, Any] | None  # the finished CallToolResult (wire JSON)
    lock_holder: str | None
    lock_until: float | None

    @property
    def completed(self) -> bool:
        return self.result is not None


def _record(row: tuple[Any, ...]) -> TaskRecord:
    values = dict(zip(_COLUMNS.split(", "), row, strict=True))
    values["result"] = json.loads(values["result"]) if values["result"] else None
    return TaskRecord.model_validate(values)


class TaskRecords:
    """The task rows of one owner under one key, in the shared journal."""

    def __init__(self, journal: Journal, key_fingerprint: str, owner: str) -> None:
        transaction = getattr(journal, "transaction", None)
        if transaction is None:
            raise JournalError("this journal store keeps no task records")
        self._transaction: Callable[..., AbstractContextManager[Transaction]] = transaction
        self._scope = (key_fingerprint, owner)

    def _one(self, tx: Transaction, video_id: str) -> TaskRecord | None:
        row = tx.one(f"SELECT {_COLUMNS} FROM tasks WHERE {_KEY}", (*self._scope, video_id))
        return _record(row) if row is not None else None

    def open(
        self, video_id: str, *, poll_seconds: float, message: str, now: float | None = None
    ) -> TaskRecord:
        """Create the task of a job the journal holds (committed when this returns)."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            job = tx.one(
                "SELECT row_id FROM jobs WHERE key_fingerprint = ? AND video_id = ? "
                "AND (owner = ? OR owner IS NULL)",
                (self._scope[0], video_id, self._scope[1]),
            )
            if job is None:
                raise JournalError(f"the journal has no job {video_id} to make a task of")
            tx.run(
                f"INSERT INTO tasks (row_id, key_fingerprint, owner, {_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL) "
                "ON CONFLICT (key_fingerprint, owner, video_id) DO NOTHING",
                (job[0], *self._scope, video_id, now, now, poll_seconds, now + poll_seconds,
                 message),
            )  # fmt: skip
            found = self._one(tx, video_id)
        assert found is not None
        return found

    def get(self, video_id: str) -> TaskRecord | None:
        with self._transaction(write=False) as tx:
            return self._one(tx, video_id)

    def claim_read(self, video_id: str, *, now: float | None = None) -> bool:
        """True for the one caller that may read the job at the gateway now."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            won = tx.run(
                "UPDATE tasks SET next_read_at = ? + poll_seconds "
                f"WHERE {_KEY} AND result IS NULL AND next_read_at <= ?",
                (now, *self._scope, video_id, now),
            )
        return won == 1

    def note(
        self,
        video_id: str,
        message: str,
        *,
        poll_seconds: float | None = None,
        now: float | None = None,
    ) -> None:
        """What the last read said; a new poll interval if the gateway changed it."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE tasks SET message = ?, updated_at = ?, "
                "poll_seconds = COALESCE(?, poll_seconds) WHERE " + _KEY,
                (message, now, poll_seconds, *self._scope, video_id),
            )

    def note_cancel(self, video_id: str, note: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            tx.run(
                f"UPDATE tasks SET cancel_note = ?, updated_at = ? WHERE {_KEY}",
                (note, now, *self._scope, video_id),
            )

    def claim_download(
        self, video_id: str, holder: str, *, lease_seconds: float, now: float | None = None
    ) -> bool:
        """True for the one caller that downloads the finished job (a lease, then others)."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            won = tx.run(
                "UPDATE tasks SET lock_holder = ?, lock_until = ? WHERE "
                f"{_KEY} AND result IS NULL AND (lock_until IS NULL OR lock_until <= ?)",
                (holder, now + lease_seconds, *self._scope, video_id, now),
            )
        return won == 1

    def release(self, video_id: str, holder: str) -> None:
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE tasks SET lock_holder = NULL, lock_until = NULL "
                f"WHERE {_KEY} AND lock_holder = ?",
                (*self._scope, video_id, holder),
            )

    def complete(
        self,
        video_id: str,
        result: dict[str, Any],
        *,
        message: str,
        holder: str | None = None,
        now: float | None = None,
    ) -> TaskRecord:
        """Store the finished result (once: a result already there is kept) and return the
        row as it now is. ``holder``: only while holding the download lease."""
        now = time.time() if now is None else now
        held = " AND lock_holder = ?" if holder is not None else ""
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE tasks SET result = ?, message = ?, updated_at = ?, lock_holder = NULL, "
                f"lock_until = NULL WHERE {_KEY} AND result IS NULL{held}",
                (json.dumps(result), message, now, *self._scope, video_id,
                 *([holder] if holder is not None else [])),
            )  # fmt: skip
            found = self._one(tx, video_id)
        assert found is not None
        return found

    def replace_result(
        self, video_id: str, result: dict[str, Any], *, now: float | None = None
    ) -> None:
        """A completed task's result with fresh signed links."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            tx.run(
                f"UPDATE tasks SET result = ?, updated_at = ? WHERE {_KEY} AND result IS NOT NULL",
                (json.dumps(result), now, *self._scope, video_id),
            )
