"""What a failing SQLite journal means to the user, and ``journal check``'s inspection.

Every message names the file, says what is wrong with it in plain words and how to recover.
Nothing here deletes or moves a journal: recovering is the user's decision.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.logs import for_result

CORRUPT_MARKERS = ("file is not a database", "malformed", "corrupt")
CAUSE_CHARS = 160


def recovery_hint(path: Path) -> str:
    return (
        f"Run `phaseo-mcp journal check` to see the problem; to start a fresh journal, move "
        f"the file aside (mv {path} {path}.corrupt; also its -wal and -shm files). Nothing was "
        "deleted."
    )


def is_corruption(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(m in text for m in CORRUPT_MARKERS)


def corrupt_error(path: Path, detail: str) -> JournalError:
    return JournalError(
        f"the job journal at {path} is corrupt or not a SQLite database ({detail}). "
        + recovery_hint(path),
        failure_kind="config",
    )


def sqlite_error(path: Path, exc: sqlite3.Error, *, busy_seconds: float) -> JournalError:
    """A failed journal operation, told by its cause."""
    text = str(exc)
    lowered = text.lower()
    if is_corruption(exc):
        return corrupt_error(path, text)
    if "disk is full" in lowered or "disk i/o" in lowered:
        why = f"the disk holding the job journal at {path} is full or failing ({text})"
        fix = "free some space there (or set PHASEO_STATE_DIR to another disk)"
    elif "locked" in lowered or "busy" in lowered:
        why = (
            f"the job journal at {path} stayed locked by another process for more than "
            f"{busy_seconds:g}s ({text})"
        )
        fix = "stop the other process holding it (another phaseo-mcp or an open sqlite3 shell)"
    elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        why = f"the job journal at {path} is read-only or cannot be opened ({text})"
        fix = "make the file and its folder writable, or set PHASEO_STATE_DIR elsewhere"
    else:
        why = f"the job journal at {path} failed ({text})"
        fix = "run `phaseo-mcp journal check`"
    return JournalError(f"{why}; {fix}.")


def journal_warning(cause: str) -> str:
    """The sentence a result carries when the gateway answered but the journal could not
    record it."""
    cause = for_result(cause)  # before shortening, so no path is cut where it cannot be found
    short = cause if len(cause) <= CAUSE_CHARS else cause[: CAUSE_CHARS - 1] + "…"
    return (
        f"The local job journal could not record this ({short}). The gateway's answer above is "
        "complete; list_videos still finds the job at the gateway."
    )


@dataclass(frozen=True)
class JournalReport:
    """What ``journal check`` and ``doctor`` say about one SQLite journal file."""

    path: Path
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK' if self.ok else 'PROBLEM'}: {self.detail}"


def inspect_sqlite(path: Path) -> JournalReport:
    """Integrity (``PRAGMA quick_check``) and a committed write; never creates the file and
    never changes a row of the user's data."""
    if not path.exists():
        return JournalReport(path, True, f"no journal yet at {path} (created on first use)")
    if not path.is_file():
        return JournalReport(path, False, f"{path} is not a file; move it aside")
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        return JournalReport(
            path,
            False,
            f"the job journal at {path} is read-only ({exc.strerror}); make the file and "
            "its folder writable, or set PHASEO_STATE_DIR elsewhere",
        )
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return JournalReport(path, False, _unwritable(path, exc))
    try:
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as exc:
            if is_corruption(exc):
                return JournalReport(path, False, corrupt_error(path, str(exc)).message)
            return JournalReport(path, False, _unwritable(path, exc))
        problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
        if problems:
            return JournalReport(path, False, corrupt_error(path, "; ".join(problems[:3])).message)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS journal_meta "
                "(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            conn.execute(
                "INSERT INTO journal_meta (name, value) VALUES ('last_check', "
                "strftime('%s','now')) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.rollback()
            return JournalReport(path, False, _unwritable(path, exc))
        return JournalReport(path, True, f"{path} is intact and writable")
    finally:
        conn.close()


def _unwritable(path: Path, exc: sqlite3.Error) -> str:
    return sqlite_error(path, exc, busy_seconds=5.0).message
