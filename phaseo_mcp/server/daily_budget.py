"""``PHASEO_DAILY_BUDGET_USD`` around a create: reserve the estimate before the POST (or
refuse, saying what was spent today and when the limit resets), tie the reservation to the
job, give it back when no job was made, and settle it when the job reports its cost."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from phaseo_mcp.errors import InputError, OutcomeUnknown
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.jobs import budget
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.server.state import AppState

log = logging.getLogger(__name__)


@dataclass
class Spend:
    """What the create made: set ``video_id`` once the gateway answered with a job."""

    reservation: int | None = None
    video_id: str | None = None


def _refusal(limit: float, spent: float, estimate: float | None, over: budget.OverBudget) -> str:
    resets = over.resets_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"This would go over your daily budget of ${limit:.2f} (PHASEO_DAILY_BUDGET_USD): "
        f"${spent:.2f} is spent or reserved today and this video is estimated at "
        f"${(estimate or 0):.2f}. Nothing was sent. The budget resets at {resets}; until then "
        "choose a cheaper video (shorter, fewer samples, another model) or ask the operator "
        "to raise the limit."
    )


@asynccontextmanager
async def daily_budget(
    state: AppState, owner: Owner, estimate: float | None, unpriced: str | None
) -> AsyncIterator[Spend]:
    """Reserve ``estimate`` of the owner's day around the ``async with`` body (a no-op
    without a daily budget)."""
    spend = Spend()
    limit = state.settings.daily_budget_usd
    if limit is None:
        yield spend
        return
    if estimate is None:
        raise InputError(
            f"PHASEO_DAILY_BUDGET_USD limits your spending to ${limit:.2f} a day, but this "
            f"video's cost cannot be estimated ({unpriced or 'the catalogue gives no price'}). "
            "Nothing was sent: pick a model list_video_models shows with a price.",
            failure_kind="over_budget",
            next_call={"tool": "list_video_models", "arguments": {}},
        )
    journal = await state.require_journal()
    try:
        spend.reservation = await anyio.to_thread.run_sync(
            lambda: budget.reserve(journal, owner.id, estimate, limit)
        )
    except budget.OverBudget as over:
        raise InputError(
            _refusal(limit, over.spent_usd, estimate, over),
            failure_kind="over_budget",
            next_call={"tool": "list_video_models", "arguments": {}},
        ) from None
    reservation = spend.reservation
    try:
        yield spend
    except OutcomeUnknown:
        raise  # the job may exist: its reservation stands
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _quietly(functools.partial(budget.release, journal, reservation))
        raise
    with anyio.CancelScope(shield=True):
        if spend.video_id is None:
            await _quietly(functools.partial(budget.release, journal, reservation))
        else:
            video_id = spend.video_id
            await _quietly(functools.partial(budget.attach, journal, reservation, video_id))


async def _quietly(write: Callable[[], object]) -> None:
    try:
        await anyio.to_thread.run_sync(write)
    except JournalError as exc:  # the create's answer matters more; the day stays reserved
        log.warning("daily budget: the journal could not record a reservation: %s", exc.message)


async def settle_daily(state: AppState, owner: Owner, job: Job) -> None:
    """A finished job's settled cost replaces its reservation (a failed job's is zero)."""
    if state.settings.daily_budget_usd is None or not job.terminal:
        return
    if job.status in ("failed", "cancelled"):
        cost = 0.0
    elif job.cost_usd is None:
        return  # no settled cost reported: the estimate stands
    else:
        cost = float(job.cost_usd)
    journal = await state.journal()
    if journal is not None:
        await _quietly(functools.partial(budget.settle, journal, owner.id, job.video_id, cost))
