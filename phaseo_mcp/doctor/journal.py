"""The doctor's rows for the job journal (integrity, writability) and the cost ceiling."""

from __future__ import annotations

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.table import Check
from phaseo_mcp.jobs.journal_faults import inspect_sqlite


def check_journal(settings: Settings) -> Check:
    """FAIL when the SQLite journal is corrupt, not a database, read-only, full or locked."""
    report = inspect_sqlite(settings.journal_path)
    if report.ok:
        return Check("journal", "OK", report.detail)
    return Check(
        "journal",
        "FAIL",
        report.detail,
        "run `phaseo-mcp journal check`; move the file aside to start a fresh journal",
    )


def check_cost_ceiling(settings: Settings) -> Check:
    """The effective PHASEO_MAX_COST_USD (settings already refused a bad value)."""
    ceiling = settings.max_cost_usd
    if ceiling is None:
        return Check(
            "cost ceiling",
            "OK",
            "none: PHASEO_MAX_COST_USD is unset, so creates are not limited by price",
        )
    return Check(
        "cost ceiling",
        "OK",
        f"${ceiling:.2f} per video (PHASEO_MAX_COST_USD): dearer creates are refused unsent",
    )
