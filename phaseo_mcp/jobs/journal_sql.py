"""The journal's logic and schema, written once for both stores.

A store (``journal_sqlite.py``, ``journal_postgres.py``) supplies only transactions; the SQL
here uses ``?`` placeholders and features both SQLite (>= 3.35) and PostgreSQL have:
``ON CONFLICT`` (also on the partial unique index of video ids), ``RETURNING``, foreign keys
with ``ON DELETE CASCADE``. How the duplicate guard works is told in ``journal.py``.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from phaseo_mcp.jobs.budget_schema import prune_spend
from phaseo_mcp.jobs.fingerprint import without_secrets
from phaseo_mcp.jobs.journal import (
    RELEASING_STATUSES,
    Claimed,
    DownloadRecord,
    Duplicate,
    JobRecord,
    JobRowState,
    JournalError,
)
from phaseo_mcp.jobs.journal_schema import (
    CLAIM_GUARD,
    COLUMNS,
    INSERT_JOB,
    RELEASE_GUARD,
    SELECT_JOBS,
    TAKE_OVER_GUARD,
    TAKE_OVER_LAPSED_GUARD,
    Transaction,
    job_record,
    rows_of,
)


class _DuplicateFound(Exception):
    """Raised inside a claim's transaction to roll it back."""

    def __init__(self, existing: JobRecord) -> None:
        self.existing = existing


def _text(request: dict[str, Any], name: str) -> str | None:
    value = request.get(name)
    return value if isinstance(value, str) else None


class SqlJournal(ABC):
    """The journal's logic (the :class:`~phaseo_mcp.jobs.journal.Journal` protocol, whose
    docstrings tell what each method does), written once; a store supplies transactions."""

    for_update = ""  # row lock suffix for SELECTs in write transactions (PostgreSQL only)

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[Transaction]: ...

    def transaction(self, *, write: bool) -> AbstractContextManager[Transaction]:
        """A transaction for the modules kept beside the jobs tables (``task_records.py``,
        ``budget.py``, ``team_rows.py``)."""
        return self._transaction(write=write)

    # -- creating a job -------------------------------------------------------------------
    def claim(
        self,
        *,
        key_fingerprint: str,
        fingerprint: str,
        base_url: str,
        request: dict[str, Any],
        window_seconds: float,
        allow_duplicate: bool = False,
        now: float | None = None,
        owner: str | None = None,
    ) -> Claimed | Duplicate:
        now = time.time() if now is None else now
        clean = without_secrets(request)  # callers remove them too: defence in depth
        guard = (key_fingerprint, fingerprint)
        try:
            with self._transaction(write=True) as tx:
                new = tx.one(
                    f"{INSERT_JOB} RETURNING {COLUMNS}",
                    (*guard, base_url, "intent", None, None, _text(clean, "model"),
                     _text(clean, "prompt"), json.dumps(clean, sort_keys=True), now, now, owner),
                )  # fmt: skip
                assert new is not None
                row_id = new[0]
                if allow_duplicate:
                    tx.run(TAKE_OVER_GUARD, (*guard, row_id, now))
                    return Claimed(record=job_record(new))
                won = tx.one(CLAIM_GUARD, (*guard, row_id, now))
                if won is None:  # someone holds the guard: take it over only if it lapsed
                    won = tx.one(
                        TAKE_OVER_LAPSED_GUARD, (row_id, now, *guard, now - window_seconds)
                    )
                if won is not None:
                    return Claimed(record=job_record(new))
                holder = tx.one(
                    f"{SELECT_JOBS} WHERE row_id = (SELECT row_id FROM duplicate_guards "
                    "WHERE key_fingerprint = ? AND fingerprint = ?)",
                    guard,
                )
                if holder is None:  # cannot happen: guards cascade with their rows
                    raise JournalError("the duplicate guard points at a missing journal row")
                raise _DuplicateFound(job_record(holder))
        except _DuplicateFound as dup:
            return Duplicate(existing=dup.existing)

    def mark_created(
        self, row_id: int, *, video_id: str, status: str, cost_usd: float | None = None
    ) -> JobRecord:
        with self._transaction(write=True) as tx:
            row = self._locked(tx, "row_id = ?", (row_id,))
            self._adopt(tx, row, video_id)
            return self._update(tx, row, time.time(), state="created", status=status,
                                cost_usd=cost_usd, error=None, clear_error=True)  # fmt: skip

    def mark_outcome_unknown(self, row_id: int, *, error: str) -> JobRecord:
        with self._transaction(write=True) as tx:
            row = self._locked(tx, "row_id = ?", (row_id,))
            return self._update(tx, row, time.time(), state="outcome_unknown", error=error)

    def mark_rejected(self, row_id: int, *, error: str) -> JobRecord:
        with self._transaction(write=True) as tx:
            row = self._locked(tx, "row_id = ?", (row_id,))
            tx.run(RELEASE_GUARD, (row_id,))
            return self._update(tx, row, time.time(), state="rejected", error=error)

    def attach_video_id(
        self,
        key_fingerprint: str,
        row_id: int,
        video_id: str,
        *,
        probable: bool = False,
        owner: str | None = None,
    ) -> JobRecord:
        scope, params = rows_of(key_fingerprint, owner)
        with self._transaction(write=True) as tx:
            row = self._locked(tx, f"row_id = ? AND {scope}", (row_id, *params))
            orphan = self._adopt(tx, row, video_id)
            # The merged row may know more (a status seen in a listing) than the intent row.
            return self._update(tx, row, time.time(),
                                state="probable" if probable else "created",
                                status=row.status or (orphan.status if orphan else None),
                                cost_usd=orphan.cost_usd if orphan else None)  # fmt: skip

    # -- following a job ------------------------------------------------------------------
    def record_status(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        status: str,
        cost_usd: float | None = None,
        error: str | None = None,
        now: float | None = None,
        owner: str | None = None,
    ) -> JobRecord | None:
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            row = self._ensure(tx, key_fingerprint, video_id, now, owner)
            return self._update(tx, row, now, status=status, cost_usd=cost_usd, error=error)

    def record_download(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        index: int,
        path: str,
        size: int,
        sha256: str,
        now: float | None = None,
        owner: str | None = None,
    ) -> None:
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            row = self._ensure(tx, key_fingerprint, video_id, now, owner)
            tx.run(
                "INSERT INTO downloads (row_id, key_fingerprint, video_id, variant_index, path, "
                "size, sha256, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.row_id, key_fingerprint, video_id, index, path, size, sha256, now, owner),
            )
            tx.run("UPDATE jobs SET updated_at = ? WHERE row_id = ?", (now, row.row_id))

    def mark_deleted(
        self, key_fingerprint: str, video_id: str, *, owner: str | None = None
    ) -> JobRecord | None:
        scope, params = rows_of(key_fingerprint, owner)
        with self._transaction(write=True) as tx:
            found = tx.one(
                f"{SELECT_JOBS} WHERE {scope} AND video_id = ?{self.for_update}",
                (*params, video_id),
            )
            if found is None:
                return None
            row = job_record(found)
            tx.run(RELEASE_GUARD, (row.row_id,))
            return self._update(tx, row, time.time(), deleted=True)

    # -- reading --------------------------------------------------------------------------
    def get(
        self, key_fingerprint: str, video_id: str, *, owner: str | None = None
    ) -> JobRecord | None:
        scope, params = rows_of(key_fingerprint, owner)
        with self._transaction(write=False) as tx:
            row = tx.one(f"{SELECT_JOBS} WHERE {scope} AND video_id = ?", (*params, video_id))
        return job_record(row) if row else None

    def list_jobs(
        self,
        key_fingerprint: str,
        *,
        statuses: Sequence[str] | None = None,
        limit: int = 20,
        include_deleted: bool = False,
        owner: str | None = None,
    ) -> list[JobRecord]:
        scope, params = rows_of(key_fingerprint, owner)
        where = [scope]
        if not include_deleted:
            where.append("deleted = 0")
        if statuses is not None:
            if not statuses:
                return []
            where.append(f"COALESCE(status, 'unknown') IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        order = "ORDER BY created_at DESC, row_id DESC LIMIT ?"
        sql = f"{SELECT_JOBS} WHERE {' AND '.join(where)} {order}"
        with self._transaction(write=False) as tx:
            rows = tx.all(sql, [*params, max(0, int(limit))])
        return [job_record(row) for row in rows]

    def find_download(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        index: int,
        path: str | None = None,
        owner: str | None = None,
    ) -> DownloadRecord | None:
        scope, params = rows_of(key_fingerprint, owner)
        where, args = ("", ()) if path is None else (" AND path = ?", (path,))
        with self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT video_id, variant_index, path, size, sha256, created_at FROM downloads "
                f"WHERE {scope} AND video_id = ? AND variant_index = ?{where} "
                "ORDER BY created_at DESC, id DESC LIMIT 1",
                (*params, video_id, index, *args),
            )
        if row is None:
            return None
        keys = ("video_id", "index", "path", "size", "sha256", "created_at")
        return DownloadRecord.model_validate(dict(zip(keys, row, strict=True)))

    def prune(self, *, older_than_days: float, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._transaction(write=True) as tx:
            if older_than_days <= 0:
                removed = tx.run("DELETE FROM jobs")
            else:
                cutoff = now - older_than_days * 86400.0
                removed = tx.run("DELETE FROM jobs WHERE updated_at < ?", (cutoff,))
            prune_spend(tx, older_than_days=older_than_days, now=now)
        return removed

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> SqlJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers (inside a transaction) ---------------------------------------------------
    def _locked(self, tx: Transaction, where: str, params: Sequence[Any]) -> JobRecord:
        row = tx.one(f"{SELECT_JOBS} WHERE {where}{self.for_update}", params)
        if row is None:
            raise JournalError(f"no journal row {params[0]} for this key")
        return job_record(row)

    def _ensure(
        self, tx: Transaction, key_fp: str, video_id: str, now: float, owner: str | None
    ) -> JobRecord:
        tx.run(
            f"{INSERT_JOB} ON CONFLICT (key_fingerprint, video_id) WHERE video_id IS NOT NULL "
            "DO NOTHING",
            (key_fp, "", "", "created", video_id, None, None, None, "{}", now, now, owner),
        )
        scope, params = rows_of(key_fp, owner)
        return self._locked(tx, f"{scope} AND video_id = ?", (*params, video_id))

    def _adopt(self, tx: Transaction, row: JobRecord, video_id: str) -> JobRecord | None:
        """Give ``row`` the video id; a row made for that id meanwhile (e.g. by a listing
        before the create's answer was recorded) is merged into it."""
        found = tx.one(
            f"{SELECT_JOBS} WHERE key_fingerprint = ? AND video_id = ? AND row_id <> ?"
            f"{self.for_update}",
            (row.key_fingerprint, video_id, row.row_id),
        )
        if found is not None:
            other = found[0]
            for table in ("status_history", "downloads"):
                tx.run(f"UPDATE {table} SET row_id = ? WHERE row_id = ?", (row.row_id, other))
            tx.run("DELETE FROM jobs WHERE row_id = ?", (other,))
        tx.run("UPDATE jobs SET video_id = ? WHERE row_id = ?", (video_id, row.row_id))
        return job_record(found) if found is not None else None

    def _update(
        self,
        tx: Transaction,
        row: JobRecord,
        now: float,
        *,
        state: JobRowState | None = None,
        status: str | None = None,
        cost_usd: float | None = None,
        error: str | None = None,
        clear_error: bool = False,
        deleted: bool | None = None,
    ) -> JobRecord:
        if status is not None and status != row.status:
            tx.run(
                "INSERT INTO status_history (row_id, status, cost_usd, error, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (row.row_id, status, cost_usd, error, now),
            )
        if status in RELEASING_STATUSES:
            tx.run(RELEASE_GUARD, (row.row_id,))
        updated = tx.one(
            "UPDATE jobs SET state = COALESCE(?, state), status = COALESCE(?, status), "
            "cost_usd = COALESCE(?, cost_usd), error = COALESCE(?, "
            + ("NULL" if clear_error else "error")
            + "), deleted = COALESCE(?, deleted), updated_at = ? "
            f"WHERE row_id = ? RETURNING {COLUMNS}",
            (state, status, cost_usd, error, None if deleted is None else int(deleted), now,
             row.row_id),
        )  # fmt: skip
        assert updated is not None
        return job_record(updated)
