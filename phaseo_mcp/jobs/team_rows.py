"""Reads across every person's journal rows under ``--auth oauth``.

There each person's rows carry their own key fingerprint (``jobs/owner.py::oauth_owner``), so
the usual per-key reads never see another person's. Matching a create whose answer was lost
against the team key's gateway listing needs two facts beyond the caller's rows: whether any
row at all holds a listed job, and which other lost creates could be that job. Neither ever
reaches the caller as data; they only keep a job from being given to the wrong person.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from phaseo_mcp.jobs.journal import UNRESOLVED_STATES, JobRecord, Journal
from phaseo_mcp.jobs.journal_schema import SELECT_JOBS, Transaction, job_record


class TeamRows:
    def __init__(self, journal: Journal) -> None:
        self._transaction: Callable[..., AbstractContextManager[Transaction]] | None = getattr(
            journal, "transaction", None
        )

    def holds(self, video_id: str) -> bool:
        """Whether any row (any person, tombstones included) holds this job id; True when
        this store cannot tell, so an unknown job is never treated as nobody's."""
        if self._transaction is None:
            return True
        with self._transaction(write=False) as tx:
            return tx.one("SELECT 1 FROM jobs WHERE video_id = ? LIMIT 1", (video_id,)) is not None

    def lost_creates(self, *, limit: int) -> list[JobRecord]:
        """Every person's creates still without a job id (intent or outcome unknown), newest
        first."""
        if self._transaction is None:
            return []
        states = ", ".join("?" * len(UNRESOLVED_STATES))
        sql = (
            f"{SELECT_JOBS} WHERE video_id IS NULL AND deleted = 0 AND state IN ({states}) "
            "ORDER BY created_at DESC, row_id DESC LIMIT ?"
        )
        with self._transaction(write=False) as tx:
            rows = tx.all(sql, (*UNRESOLVED_STATES, max(0, int(limit))))
        return [job_record(row) for row in rows]
