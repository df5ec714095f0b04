"""Opening the job journal: PostgreSQL for a ``postgresql://`` URL, else embedded SQLite.

Kept apart from ``journal.py`` (the types both stores import) so there is no import circle.
"""

from __future__ import annotations

from pathlib import Path

from phaseo_mcp.jobs.journal import Journal, JournalError, redact_url
from phaseo_mcp.jobs.journal_postgres import PostgresJournal
from phaseo_mcp.jobs.journal_sqlite import SqliteJournal


def open_journal(
    *, journal_url: str | None, state_dir: Path, busy_timeout_seconds: float | None = None
) -> Journal:
    """PostgreSQL for a ``postgresql://``/``postgres://`` URL, else SQLite in ``state_dir``
    (``busy_timeout_seconds``: how long a SQLite write waits for another process's lock)."""
    if journal_url and journal_url.split("://", 1)[0].lower() in {"postgresql", "postgres"}:
        return PostgresJournal(journal_url)
    if journal_url:
        raise JournalError(
            f"PHASEO_JOURNAL_URL must be a postgresql:// URL, not {redact_url(journal_url)!r}; "
            "unset it to use the embedded SQLite journal",
            failure_kind="config",
        )
    if busy_timeout_seconds is None:
        return SqliteJournal(state_dir / "journal.sqlite3")
    return SqliteJournal(state_dir / "journal.sqlite3", busy_timeout_seconds=busy_timeout_seconds)
