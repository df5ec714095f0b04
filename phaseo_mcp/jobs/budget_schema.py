"""The daily-budget tables (jobs/budget.py): their journal migration, and ``journal prune``
for them (days older than the cutoff go, today's (UTC) never does, so pruning cannot reset
anyone's budget)."""

from __future__ import annotations

from datetime import UTC, datetime

from phaseo_mcp.jobs.journal_schema import Transaction

# Each owner's total per UTC day, and what each create reserved until its settled cost
# replaces the reservation. One entry of journal_migrations.MIGRATIONS.
BUDGET_MIGRATION = [
    "CREATE TABLE IF NOT EXISTS daily_spend (owner TEXT NOT NULL, day TEXT NOT NULL, "
    "total_usd DOUBLE PRECISION NOT NULL DEFAULT 0, PRIMARY KEY (owner, day))",
    "CREATE TABLE IF NOT EXISTS spend_reservations (id {pk}, owner TEXT NOT NULL, "
    "day TEXT NOT NULL, amount_usd DOUBLE PRECISION NOT NULL, video_id TEXT, "
    "settled INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS reservations_video ON spend_reservations (owner, video_id)",
]


def prune_spend(tx: Transaction, *, older_than_days: float, now: float) -> None:
    cutoff = min(now - max(older_than_days, 0.0) * 86400.0, now - 86400.0)
    day = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d")
    tx.run("DELETE FROM spend_reservations WHERE day <= ?", (day,))
    tx.run("DELETE FROM daily_spend WHERE day <= ?", (day,))
