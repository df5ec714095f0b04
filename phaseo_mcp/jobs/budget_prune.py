"""``journal prune`` for the daily-budget tables (jobs/budget.py): days older than the
cutoff go, today's (UTC) never does, so pruning cannot reset anyone's budget."""

from __future__ import annotations

from datetime import UTC, datetime

from phaseo_mcp.jobs.journal_schema import Transaction


def prune_spend(tx: Transaction, *, older_than_days: float, now: float) -> None:
    cutoff = min(now - max(older_than_days, 0.0) * 86400.0, now - 86400.0)
    day = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d")
    tx.run("DELETE FROM spend_reservations WHERE day <= ?", (day,))
    tx.run("DELETE FROM daily_spend WHERE day <= ?", (day,))
