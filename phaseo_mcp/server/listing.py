"""list_videos: the gateway's listing merged into the journal, outcome-unknown creates
reconciled (``jobs/reconcile.py``), and every job the gateway listed shown even when the
journal could not record it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from phaseo_mcp.errors import PhaseoError, TransportError
from phaseo_mcp.gateway.job import Job, to_iso, to_unix
from phaseo_mcp.gateway.responses import VideoObject
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import journal_warning
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.jobs.reconcile import Reconciliation, Unresolved, compare, reconcile
from phaseo_mcp.server.operations import gateway_for, journal_status
from phaseo_mcp.server.results import JobSummary, ListResult, success
from phaseo_mcp.server.texts import summarize_list

if TYPE_CHECKING:
    from phaseo_mcp.jobs.journal import JobRecord, Journal

log = logging.getLogger(__name__)
MERGE_WINDOW_ROWS = 500  # journal rows compared with the gateway's listing
UNRESOLVED_STATES = ("intent", "outcome_unknown")


async def list_jobs(ctx: Context, *, statuses: Sequence[str] | None, limit: int) -> CallToolResult:
    state, gateway, owner = gateway_for(ctx)
    journal = await state.journal()
    warning = None if journal is not None else journal_warning(f"{state.journal_error}")
    reachable = True
    note = None
    # "unknown" is our name for a status we could not read, not one the gateway filters on.
    upstream_statuses = [s for s in statuses or () if s != "unknown"] or None
    try:
        listing = await gateway.list(limit=limit, statuses=upstream_statuses)
    except PhaseoError as exc:
        if exc.failure_kind in ("config", "auth") or journal is None:
            raise
        reachable = False
        what = "could not be reached" if isinstance(exc, TransportError) else "refused the listing"
        note = f"The gateway {what} ({exc.message}); showing the local journal."
        listing = None
    listed = listing.data if listing is not None else []
    plan = Reconciliation()
    # rows of creates the gateway answered but the journal could not record: row id -> job id
    owed = {row: vid for (who, vid), row in state.unrecorded_creates.items() if who == owner.id}
    unrecorded: list[VideoObject] = []
    records: list[JobRecord] = []
    if journal is not None:
        try:
            # rows of creates answered but not yet recorded: their job is known for certain
            plan = await _reconcile(journal, owner, listed, set(owed))
            for obj in listed:
                if failed := await journal_status(state, owner, Job.from_api(obj)):
                    warning = warning or failed
                    unrecorded.append(obj)
        except JournalError as exc:  # cannot write: the gateway's listing is shown as is
            log.warning("list_videos could not record the listing: %s", exc.message)
            warning = journal_warning(exc.message)
            unrecorded = list(listed)
        try:  # reads may still work (a lock held by another writer, a full disk)
            records = await anyio.to_thread.run_sync(
                lambda: journal.list_jobs(
                    owner.key_fp, statuses=statuses, limit=limit, owner=owner.id
                )
            )
        except JournalError as exc:
            if listing is None:
                raise
            warning = warning or journal_warning(exc.message)
            unrecorded = list(listed)
    elif listing is not None:
        unrecorded = list(listed)
    by_id = {obj.id: obj for obj in listed}
    videos = [_summary(r, plan, by_id, owed.get(r.row_id)) for r in records]
    shown = {v.video_id for v in videos}
    videos += [_from_gateway(obj) for obj in unrecorded if obj.id not in shown]
    result = ListResult(
        videos=videos[: max(limit, len(records))],
        gateway_reachable=reachable,
        note=note,
        warning=warning,
        next_step="Pick a job and call wait_for_video or download_video with its video_id.",
    )
    return success(result, summarize_list(result))


async def _reconcile(
    journal: Journal, owner: Owner, listed: Sequence[VideoObject], owed: set[int]
) -> Reconciliation:
    """Link outcome-unknown rows to the one job that matches each; a job already linked to a
    create's row is never a candidate (a row a listing made for it, with no request, is)."""
    rows = await anyio.to_thread.run_sync(
        lambda: journal.list_jobs(
            owner.key_fp, limit=MERGE_WINDOW_ROWS, include_deleted=True, owner=owner.id
        )
    )
    linked = {r.video_id for r in rows if r.video_id and r.fingerprint}
    unresolved = [
        Unresolved(r.row_id, r.request, r.created_at)
        for r in rows
        if r.video_id is None
        and not r.deleted
        and r.state in UNRESOLVED_STATES
        and r.row_id not in owed
    ]
    plan = reconcile(unresolved, [obj for obj in listed if obj.id not in linked])
    for row_id, (video_id, _) in plan.links.items():
        await anyio.to_thread.run_sync(
            functools.partial(
                journal.attach_video_id,
                owner.key_fp,
                row_id,
                video_id,
                probable=True,
                owner=owner.id,
            )
        )
    return plan


def _summary(
    r: JobRecord, plan: Reconciliation, listed: dict[str, VideoObject], owed: str | None
) -> JobSummary:
    note = None
    candidates = None
    reason = None
    if owed is not None and not r.video_id:
        known = listed.get(owed)
        return JobSummary(
            video_id=owed,
            status=Job.from_api(known).status if known is not None else None,
            model=r.model,
            prompt=(r.prompt or "")[:80] or None,
            created_at=to_iso(r.created_at),
            note="The gateway answered this create; the local journal could not record it yet.",
        )
    if r.state == "probable" and r.video_id:
        obj = listed.get(r.video_id)
        found = compare(r.request, r.created_at, obj) if obj is not None else None
        reason = found.reason() if found is not None and found.candidate else None
        reason = reason or next(
            (why for vid, why in plan.links.values() if vid == r.video_id), None
        )
        note = (
            "Probable match: the create's answer never came, and this is the only gateway job "
            f"that matches it ({reason or 'model, settings and creation time'}). Not confirmed "
            "by the gateway: check it with get_video_status before relying on it."
        )
    elif r.state in UNRESOLVED_STATES and not r.video_id:
        candidates = plan.candidates.get(r.row_id)
        if candidates:
            note = (
                f"Create sent but no answer came; {len(candidates)} gateway jobs match it "
                f"({', '.join(candidates)}), so none was linked. Check them with "
                "get_video_status; do not create again."
            )
        else:
            note = "Create sent but no answer came; the gateway has not listed a matching job yet."
    return JobSummary(
        video_id=r.video_id,
        status=r.status,
        model=r.model,
        prompt=(r.prompt or "")[:80] or None,
        created_at=to_iso(r.created_at),
        cost_usd=r.cost_usd,
        outcome_unknown=r.state == "outcome_unknown",
        probable_match=r.state == "probable",
        match_reason=reason,
        candidates=candidates,
        deleted=r.deleted,
        note=note,
    )


def _from_gateway(obj: VideoObject) -> JobSummary:
    job = Job.from_api(obj)
    return JobSummary(
        video_id=job.video_id,
        status=job.status,
        model=job.model,
        created_at=to_iso(to_unix(obj.created_at)),
        cost_usd=job.cost_usd,
        note="Listed by the gateway; the local journal could not record it.",
    )
