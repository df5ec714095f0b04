"""Daily budgets (``PHASEO_DAILY_BUDGET_USD``): each owner's spending per UTC day, counted in
the journal so every replica sharing it sees the same total.

A create is admitted by :func:`reserve`, which adds its estimate to the day's total in one
statement that only succeeds while the total stays at or below the budget (a conditional
``UPDATE``: SQLite runs it under its write lock, PostgreSQL re-checks the condition on the
row it waited for), so concurrent creates can never overshoot together. The reservation is
tied to the job's id once the gateway answers, and :func:`settle` later replaces it with
the settled cost (zero for a failed job); a create the gateway refused reserves nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from phaseo_mcp.jobs.journal import Journal, JournalError
from phaseo_mcp.jobs.journal_sql import SqlJournal

# Float sums of cents: allow the rounding a budget of exactly N estimates would show.
TOLERANCE_USD = 1e-9


class OverBudget(Exception):
    """Refused: what the owner has spent (or reserved) today, and when the day ends."""

    def __init__(self, spent_usd: float, budget_usd: float, resets_at: datetime) -> None:
        super().__init__(f"${spent_usd:.2f} of ${budget_usd:.2f} spent today")
        self.spent_usd, self.budget_usd, self.resets_at = spent_usd, budget_usd, resets_at


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def day_end(now: float) -> datetime:
    start = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def _sql(journal: Journal) -> SqlJournal:
    if not isinstance(journal, SqlJournal):
        raise JournalError("daily budgets need the SQLite or PostgreSQL journal")
    return journal


def reserve(
    journal: Journal, owner: str, amount: float, budget: float, now: float | None = None
) -> int:
    """Reserve ``amount`` of today's ``budget``; the reservation's id, or OverBudget."""
    at = time.time() if now is None else now
    day = utc_day(at)
    with _sql(journal).transaction(write=True) as tx:
        tx.run(
            "INSERT INTO daily_spend (owner, day, total_usd) VALUES (?, ?, 0) "
            "ON CONFLICT (owner, day) DO NOTHING",
            (owner, day),
        )
        admitted = tx.one(
            "UPDATE daily_spend SET total_usd = total_usd + ? "
            "WHERE owner = ? AND day = ? AND total_usd + ? <= ? RETURNING total_usd",
            (amount, owner, day, amount, budget + TOLERANCE_USD),
        )
        if admitted is None:
            row = tx.one(
                "SELECT total_usd FROM daily_spend WHERE owner = ? AND day = ?", (owner, day)
            )
            raise OverBudget(float(row[0]) if row else 0.0, budget, day_end(at))
        made = tx.one(
            "INSERT INTO spend_reservations (owner, day, amount_usd, created_at) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            (owner, day, amount, at),
        )
        assert made is not None
        return int(made[0])


def attach(journal: Journal, reservation: int, video_id: str) -> None:
    """The job the reservation paid for, so any replica can settle it."""
    with _sql(journal).transaction(write=True) as tx:
        tx.run("UPDATE spend_reservations SET video_id = ? WHERE id = ?", (video_id, reservation))


def _settle(journal: Journal, where: str, params: tuple[object, ...], cost: float) -> bool:
    with _sql(journal).transaction(write=True) as tx:
        row = tx.one(
            f"SELECT id, owner, day, amount_usd FROM spend_reservations WHERE {where} "  # noqa: S608
            f"AND settled = 0 {_sql(journal).for_update}",
            params,
        )
        if row is None:
            return False
        rid, owner, day, amount = row
        tx.run(
            "UPDATE spend_reservations SET amount_usd = ?, settled = 1 WHERE id = ?", (cost, rid)
        )
        tx.run(
            "UPDATE daily_spend SET total_usd = total_usd + ? WHERE owner = ? AND day = ?",
            (cost - float(amount), owner, day),
        )
        return True


def release(journal: Journal, reservation: int) -> None:
    """No job was made: the reservation is given back."""
    _settle(journal, "id = ?", (reservation,), 0.0)


def settle(journal: Journal, owner: str, video_id: str, cost: float) -> bool:
    """Replace the job's reservation by its settled cost (once); False if none was open."""
    return _settle(journal, "owner = ? AND video_id = ?", (owner, video_id), cost)


def spent_today(journal: Journal, owner: str, now: float | None = None) -> float:
    day = utc_day(time.time() if now is None else now)
    with _sql(journal).transaction(write=False) as tx:
        row = tx.one("SELECT total_usd FROM daily_spend WHERE owner = ? AND day = ?", (owner, day))
    return float(row[0]) if row else 0.0
