"""``phaseo-mcp journal check`` and ``journal prune``: plain sentences, never a traceback.

Each command returns its ``Answer``; ``cli.py`` writes it (this module never prints)."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from phaseo_mcp.config import Settings
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import inspect_sqlite
from phaseo_mcp.jobs.journal_open import open_journal


@dataclass(frozen=True)
class Answer:
    status: int
    line: str
    to_stderr: bool = False


def run_journal_command(args: argparse.Namespace, settings: Settings) -> Answer:
    if args.journal_command == "check":
        return check_journal(settings)
    return prune_journal(settings, args.older_than)


def check_journal(settings: Settings) -> Answer:
    """Status 0 when the journal is intact and writable (or not created yet), else 1."""
    if settings.journal_url:
        try:
            open_journal(journal_url=settings.journal_url, state_dir=settings.state_dir).close()
        except JournalError as exc:
            return Answer(1, f"PROBLEM: {exc.message}")
        return Answer(
            0, "OK: the PostgreSQL journal in PHASEO_JOURNAL_URL opens and has a known schema"
        )
    report = inspect_sqlite(settings.journal_path)
    return Answer(0 if report.ok else 1, report.line())


def prune_journal(settings: Settings, older_than: float) -> Answer:
    if not math.isfinite(older_than) or older_than < 0:
        return Answer(
            2,
            f"phaseo-mcp: --older-than must be a number of days, 0 or more, not {older_than:g} "
            "(0 forgets every entry). Nothing was removed.",
            to_stderr=True,
        )
    try:
        journal = open_journal(journal_url=settings.journal_url, state_dir=settings.state_dir)
        try:
            removed = journal.prune(older_than_days=older_than)
        finally:
            journal.close()
    except JournalError as exc:
        return Answer(1, f"phaseo-mcp: {exc.message}", to_stderr=True)
    return Answer(0, f"removed {removed} journal entries older than {older_than:g} days")
