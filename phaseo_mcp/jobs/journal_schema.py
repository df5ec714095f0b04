"""The journal's first schema (migration 1), shared SQL, and the transaction interface.

Only the auto-numbered primary key is spelt differently per store. Booleans are INTEGER 0/1
and the request is JSON text in both, so a row reads back the same from either store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from phaseo_mcp.jobs.journal import JobRecord


class Transaction(Protocol):
    """One open transaction of a store; SQL uses ``?`` placeholders."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...


# The schema of the releases before migrations, frozen as migration 1
# (journal_migrations.py); only the auto-numbered primary key is spelt differently per store.
SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    row_id {pk}, key_fingerprint TEXT NOT NULL, fingerprint TEXT NOT NULL,
    base_url TEXT NOT NULL, state TEXT NOT NULL, video_id TEXT, status TEXT, model TEXT,
    prompt TEXT, request TEXT NOT NULL, cost_usd DOUBLE PRECISION, error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_video ON jobs (key_fingerprint, video_id)
    WHERE video_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_recent ON jobs (key_fingerprint, created_at);
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs (updated_at);
CREATE TABLE IF NOT EXISTS duplicate_guards (
    key_fingerprint TEXT NOT NULL, fingerprint TEXT NOT NULL,
    row_id BIGINT NOT NULL REFERENCES jobs (row_id) ON DELETE CASCADE,
    claimed_at DOUBLE PRECISION NOT NULL, released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_fingerprint, fingerprint));
CREATE INDEX IF NOT EXISTS guards_row ON duplicate_guards (row_id);
CREATE TABLE IF NOT EXISTS status_history (
    id {pk}, row_id BIGINT NOT NULL REFERENCES jobs (row_id) ON DELETE CASCADE,
    status TEXT NOT NULL, cost_usd DOUBLE PRECISION, error TEXT,
    recorded_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS history_row ON status_history (row_id);
CREATE TABLE IF NOT EXISTS downloads (
    id {pk}, row_id BIGINT NOT NULL REFERENCES jobs (row_id) ON DELETE CASCADE,
    key_fingerprint TEXT NOT NULL, video_id TEXT NOT NULL, variant_index INTEGER NOT NULL,
    path TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS downloads_video ON downloads (key_fingerprint, video_id);
"""

COLUMNS = (
    "row_id, key_fingerprint, fingerprint, base_url, state, video_id, status, model, prompt, "
    "request, cost_usd, error, deleted, created_at, updated_at, owner"
)
SELECT_JOBS = f"SELECT {COLUMNS} FROM jobs"
INSERT_JOB = (
    "INSERT INTO jobs (key_fingerprint, fingerprint, base_url, state, video_id, status, model, "
    "prompt, request, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
RELEASE_GUARD = "UPDATE duplicate_guards SET released = 1 WHERE row_id = ?"


def job_record(row: tuple[Any, ...]) -> JobRecord:
    values = dict(zip(COLUMNS.split(", "), row, strict=True))
    values["request"] = json.loads(values["request"])
    values["deleted"] = bool(values["deleted"])
    return JobRecord.model_validate(values)


def rows_of(key_fingerprint: str, owner: str | None) -> tuple[str, list[Any]]:
    """WHERE clause for the rows of a key an owner sees: its own, and those from before
    owners existed (NULL; see journal_migrations.py). No owner: every row of the key."""
    if owner is None:
        return "key_fingerprint = ?", [key_fingerprint]
    return "key_fingerprint = ? AND (owner = ? OR owner IS NULL)", [key_fingerprint, owner]


# The duplicate guard (journal.py tells how it works); parameters: key fingerprint,
# fingerprint, row id, now.
_GUARD_INSERT = (
    "INSERT INTO duplicate_guards (key_fingerprint, fingerprint, row_id, claimed_at, released) "
    "VALUES (?, ?, ?, ?, 0) ON CONFLICT (key_fingerprint, fingerprint) "
)
CLAIM_GUARD = _GUARD_INSERT + "DO NOTHING RETURNING row_id"
TAKE_OVER_GUARD = (
    _GUARD_INSERT
    + "DO UPDATE SET row_id = excluded.row_id, claimed_at = excluded.claimed_at, released = 0"
)
# Parameters: row id, now, key fingerprint, fingerprint, the window's start.
TAKE_OVER_LAPSED_GUARD = (
    "UPDATE duplicate_guards SET row_id = ?, claimed_at = ?, released = 0 "
    "WHERE key_fingerprint = ? AND fingerprint = ? "
    "AND (released = 1 OR claimed_at <= ?) RETURNING row_id"
)
