"""list_videos: the merged listing (``jobs/listing.py``) shaped for the model, with a note
on each job whose create's answer never came."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from phaseo_mcp.gateway.job import Job, to_iso, to_unix
from phaseo_mcp.gateway.responses import VideoObject
from phaseo_mcp.jobs.journal import UNRESOLVED_STATES
from phaseo_mcp.jobs.listing import list_owner_jobs
from phaseo_mcp.jobs.reconcile import Reconciliation, compare
from phaseo_mcp.server.request import gateway_for, journal_status
from phaseo_mcp.server.result_models import JobSummary, ListResult
from phaseo_mcp.server.results import success
from phaseo_mcp.server.texts import summarize_list

if TYPE_CHECKING:
    from phaseo_mcp.jobs.journal import JobRecord


async def list_jobs(ctx: Context, *, statuses: Sequence[str] | None, limit: int) -> CallToolResult:
    state, gateway, owner = gateway_for(ctx)
    journal = await state.journal()
    # rows of creates the gateway answered but the journal could not record: row id -> job id
    owed = {row: vid for (who, vid), row in state.unrecorded_creates.items() if who == owner.id}
    found = await list_owner_jobs(
        gateway,
        journal,
        owner,
        statuses=statuses,
        limit=limit,
        journal_error=state.journal_error,
        owed=set(owed),
        record=lambda job: journal_status(state, owner, job),
    )
    videos = [_summary(r, found.plan, found.listed, owed.get(r.row_id)) for r in found.records]
    shown = {v.video_id for v in videos}
    videos += [_from_gateway(obj) for obj in found.unrecorded if obj.id not in shown]
    result = ListResult(
        videos=videos[: max(limit, len(found.records))],
        gateway_reachable=found.gateway_reachable,
        note=found.note,
        warning=found.warning,
        next_step="Pick a job and call wait_for_video or download_video with its video_id.",
    )
    return success(result, summarize_list(result))


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
