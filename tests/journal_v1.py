"""The journal as the release before schema migrations wrote it, frozen for upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# phaseo-mcp 0.x (before migrations), journal_schema.SCHEMA, verbatim. Do not edit.
FROZEN_V1_SCHEMA = """
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
INSERT INTO journal_meta (name, value) VALUES ('schema_version', '1');
"""


def write_old_sqlite_journal(
    path: Path, jobs: list[tuple[str, str, str]], created_at: float = 1_700_000_000.0
) -> None:
    """A SQLite journal with the old schema and ``jobs`` (key fingerprint, video id, status)
    recorded as the old release recorded them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ddl = FROZEN_V1_SCHEMA.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT")
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
        for n, (key_fp, video_id, status) in enumerate(jobs):
            conn.execute(
                "INSERT INTO jobs (key_fingerprint, fingerprint, base_url, state, video_id, "
                "status, model, prompt, request, created_at, updated_at) "
                "VALUES (?, ?, ?, 'created', ?, ?, ?, 'old prompt', '{}', ?, ?)",
                (key_fp, f"fp-{video_id}", "https://gateway.test/v1", video_id, status,
                 "google/veo-3.1-lite", created_at + n, created_at + n),
            )  # fmt: skip
