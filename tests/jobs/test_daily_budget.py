"""Daily budgets in the journal (jobs/budget.py), on SQLite and PostgreSQL: concurrent
reservations from several journal connections (replicas) never admit more than the budget,
settling replaces a reservation by the settled cost, and owners and days are separate."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from phaseo_mcp.jobs import budget
from phaseo_mcp.jobs.journal import Journal

from journal_stores import Store

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
THREADS = 12
TIMEOUT = 60.0


def race(journals: list[Journal], owner: str, amount: float, limit: float) -> list[object]:
    """THREADS reservations at once, spread over the journals; each one's outcome."""
    outcomes: list[object] = []
    start = threading.Barrier(THREADS)

    def one(n: int) -> None:
        start.wait(TIMEOUT)
        try:
            outcomes.append(budget.reserve(journals[n % len(journals)], owner, amount, limit, NOON))
        except budget.OverBudget as over:
            outcomes.append(over)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(outcomes) == THREADS
    return outcomes


def test_concurrent_reservations_across_replicas_never_exceed_the_budget(store: Store) -> None:
    """Twelve creates of $0.30 race on three connections against a $1.00 budget: exactly
    three are admitted, the day's total is $0.90, and each refusal says what is spent and
    that the budget resets at the next UTC midnight."""
    journals = [store.open() for _ in range(3)]
    outcomes = race(journals, "oauth-a", 0.30, 1.00)
    admitted = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, budget.OverBudget)]
    assert len(admitted) == 3 and len(set(admitted)) == 3
    assert abs(budget.spent_today(journals[0], "oauth-a", NOON) - 0.90) < 1e-9
    assert all(abs(r.spent_usd - 0.90) < 1e-9 for r in refused)
    assert {r.resets_at for r in refused} == {datetime(2026, 12, 1, tzinfo=UTC)}


def test_settled_cost_replaces_the_reservation_and_frees_the_budget(store: Store) -> None:
    """A failed job settles at zero and a cheaper one at its cost, once each; a released
    reservation gives its amount back; another owner and the next day start from zero."""
    journal = store.open()
    first = budget.reserve(journal, "oauth-a", 0.60, 1.00, NOON)
    second = budget.reserve(journal, "oauth-a", 0.40, 1.00, NOON)
    budget.attach(journal, first, "G-first")
    budget.attach(journal, second, "G-second")
    try:
        budget.reserve(journal, "oauth-a", 0.01, 1.00, NOON)
        raise AssertionError("a reservation over the budget was admitted")
    except budget.OverBudget as over:
        assert abs(over.spent_usd - 1.00) < 1e-9
    assert budget.settle(journal, "oauth-a", "G-first", 0.0)
    assert not budget.settle(journal, "oauth-a", "G-first", 0.60)  # once only
    assert budget.settle(journal, "oauth-a", "G-second", 0.25)
    assert abs(budget.spent_today(journal, "oauth-a", NOON) - 0.25) < 1e-9
    third = budget.reserve(journal, "oauth-a", 0.70, 1.00, NOON)
    budget.release(journal, third)
    assert abs(budget.spent_today(journal, "oauth-a", NOON) - 0.25) < 1e-9
    assert not budget.settle(journal, "oauth-b", "G-second", 0.0)  # not another owner's
    assert budget.spent_today(journal, "oauth-b", NOON) == 0.0
    assert budget.reserve(journal, "oauth-b", 1.00, 1.00, NOON) > 0
    assert budget.reserve(journal, "oauth-a", 1.00, 1.00, NOON + 86400) > 0


def test_prune_forgets_old_days_but_never_today(store: Store) -> None:
    """``journal prune --older-than 0`` removes earlier days' spending and keeps today's, so
    pruning never resets a budget."""
    journal = store.open()
    budget.reserve(journal, "oauth-a", 0.50, 1.00, NOON - 3 * 86400)
    budget.reserve(journal, "oauth-a", 0.75, 1.00, NOON)
    journal.prune(older_than_days=0, now=NOON)
    assert store.query("SELECT day FROM daily_spend") == [("2026-11-30",)]
    assert store.query("SELECT day FROM spend_reservations") == [("2026-11-30",)]
    assert abs(budget.spent_today(journal, "oauth-a", NOON) - 0.75) < 1e-9
