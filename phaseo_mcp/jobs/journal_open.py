"""Opening the job journal: PostgreSQL for a ``postgresql://`` URL, else embedded SQLite.

Kept apart from ``journal.py`` (the types both stores import) so there is no import circle.
"""

from __future__ import annotations

from pathlib import Path

from phaseo_mcp.jobs.journal import Journal, JournalError, redact_url


def open_journal(
    *, journal_url: str | None, state_dir: Path, busy_timeout_seconds: float | None = None
) -> Journal:
    """PostgreSQL for a ``postgresql://``/``postgres://`` URL, else SQLite in ``state_dir``
    (``busy_timeout_seconds``: how long a SQLite write waits for another process's lock)."""
    if journal_url and journal_url.split("://", 1)[0].lower() in {"postgresql", "postgres"}:
        # Imported on use: psycopg is optional and costs start-up time the SQLite case skips.
        from phaseo_mcp.jobs.journal_postgres import PostgresJournal

        return PostgresJournal(journal_url)
    if journal_url:
        raise JournalError(
            f"PHASEO_JOURNAL_URL must be a postgresql:// URL, not {redact_url(journal_url)!r}; "
            "unset it to use the embedded SQLite journal",
            failure_kind="config",
        )
    from phaseo_mcp.jobs.journal_sqlite import SqliteJournal

    if busy_timeout_seconds is None:
        return SqliteJournal(state_dir / "journal.sqlite3")
    return SqliteJournal(state_dir / "journal.sqlite3", busy_timeout_seconds=busy_timeout_seconds)
