"""The embedded SQLite store of the job journal (the default).

One connection per process, guarded by a lock (the server calls the journal from worker
threads). WAL lets readers run beside a writer; ``busy_timeout`` and ``BEGIN IMMEDIATE`` for
every write transaction let several processes (replicas on one machine) share the file: a
writer takes the write lock before it reads, so a claim is never read-then-write across
processes. The file holds prompts, so it is created 0600 (SQLite gives its -wal and -shm
files the same mode) and pruned rows are overwritten (``secure_delete``).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import corrupt_error, is_corruption, sqlite_error
from phaseo_mcp.jobs.journal_migrations import migrate
from phaseo_mcp.jobs.journal_schema import Transaction
from phaseo_mcp.jobs.journal_sql import SqlJournal

DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0
MIN_BUSY_TIMEOUT_SECONDS = 2.0  # the floor when tests speed time up


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cursor = self._conn.execute(sql, tuple(params))
        row: tuple[Any, ...] | None = cursor.fetchone()
        cursor.close()  # finish the statement (RETURNING rows are only written when consumed)
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, tuple(params)).fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount


class SqliteJournal(SqlJournal):
    def __init__(
        self, path: Path, *, busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS
    ) -> None:
        self.path = path
        self.busy_timeout_seconds = busy_timeout_seconds
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_seconds, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(
                f"cannot open the job journal at {path}: {exc}; set PHASEO_STATE_DIR to a "
                "writable directory",
                failure_kind="config",
            ) from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA secure_delete = ON")
            self._check_integrity()
            self._set_up(time.monotonic() + busy_timeout_seconds)
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.Error):
                error = sqlite_error(path, exc, busy_seconds=busy_timeout_seconds)
                error.failure_kind = "config"
                raise error from exc
            raise

    def _check_integrity(self) -> None:
        """A corrupt, truncated or foreign file is refused here, with how to recover, instead
        of failing at some later write."""
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise corrupt_error(self.path, str(exc)) from exc
            raise
        problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
        if problems:
            raise corrupt_error(self.path, "; ".join(problems[:3]))

    def _set_up(self, deadline: float) -> None:
        """WAL mode and the schema. Switching to WAL while another process opens the same new
        file can fail with SQLITE_BUSY without consulting the busy handler, so retry."""
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL").fetchall()
                self._conn.execute("PRAGMA synchronous = NORMAL")
                with self._lock:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        tx = _SqliteTransaction(self._conn)
                        migrate(tx, "INTEGER PRIMARY KEY AUTOINCREMENT")
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Transaction]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield _SqliteTransaction(conn)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise sqlite_error(self.path, exc, busy_seconds=self.busy_timeout_seconds) from exc

    def prune(self, *, older_than_days: float, now: float | None = None) -> int:
        removed = super().prune(older_than_days=older_than_days, now=now)
        # Move the pruned pages out of the WAL into the (secure-deleted) main file.
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error:
                pass  # another process is reading: its own checkpoint will follow
        return removed

    def close(self) -> None:
        with self._lock:
            self._conn.close()
