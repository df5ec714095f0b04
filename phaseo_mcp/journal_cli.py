"""``phaseo-mcp journal check`` and ``journal prune``: plain sentences, never a traceback."""

from __future__ import annotations

import argparse
import math
import sys

from phaseo_mcp.config import Settings


def run_journal_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.journal_command == "check":
        return check_journal(settings)
    return prune_journal(settings, args.older_than)


def check_journal(settings: Settings) -> int:
    """Exit 0 when the journal is intact and writable (or not created yet), else 1."""
    if settings.journal_url:
        from phaseo_mcp.jobs.journal import JournalError, open_journal

        try:
            open_journal(journal_url=settings.journal_url, state_dir=settings.state_dir).close()
        except JournalError as exc:
            print(f"PROBLEM: {exc.message}")
            return 1
        print("OK: the PostgreSQL journal in PHASEO_JOURNAL_URL opens and has a known schema")
        return 0
    from phaseo_mcp.jobs.journal_faults import inspect_sqlite

    report = inspect_sqlite(settings.journal_path)
    print(report.line())
    return 0 if report.ok else 1


def prune_journal(settings: Settings, older_than: float) -> int:
    from phaseo_mcp.jobs.journal import JournalError, open_journal

    if not math.isfinite(older_than) or older_than < 0:
        print(
            f"phaseo-mcp: --older-than must be a number of days, 0 or more, not {older_than:g} "
            "(0 forgets every entry). Nothing was removed.",
            file=sys.stderr,
        )
        return 2
    try:
        journal = open_journal(journal_url=settings.journal_url, state_dir=settings.state_dir)
        try:
            removed = journal.prune(older_than_days=older_than)
        finally:
            journal.close()
    except JournalError as exc:
        print(f"phaseo-mcp: {exc.message}", file=sys.stderr)
        return 1
    print(f"removed {removed} journal entries older than {older_than:g} days")
    return 0
