"""What each tool does, between the MCP context and the jobs layer.

Each function takes the request context, finds the shared state and the caller's key, calls
into ``jobs/`` or ``gateway/``, and shapes the result with ``results.py``.
"""

from __future__ import annotations

import logging
from typing import cast

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.requests import CreateVideoRequest, WebhookUrl, check_video_id
from phaseo_mcp.jobs.catalog import check_request, estimate_cost, summarize
from phaseo_mcp.jobs.cost import check_cost_ceiling
from phaseo_mcp.jobs.create import create_job
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import journal_warning
from phaseo_mcp.jobs.wait import wait_for_job
from phaseo_mcp.logs import register_caller_secret
from phaseo_mcp.server.disconnect import stop_if_client_leaves
from phaseo_mcp.server.request import gateway_for, journal_status, look_up
from phaseo_mcp.server.result_models import DeleteResult, Guidance, ModelsResult, NextCall
from phaseo_mcp.server.results import failure, success, video_result
from phaseo_mcp.server.texts import summarize_models, summarize_video

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ create / status / wait


async def create(ctx: Context, req: CreateVideoRequest, *, allow_duplicate: bool) -> CallToolResult:
    if isinstance(req.webhook, WebhookUrl):
        register_caller_secret(req.webhook.secret)  # redacted in this call's logs and results
    state, gateway, owner = gateway_for(ctx)
    journal = await state.require_journal()
    catalogue, why = await state.catalog.try_get(gateway, owner.key_fp)
    note = None
    estimate: float | None = None
    if catalogue is None:
        note = f"The model catalogue could not be fetched ({why}); parameters were not checked."
    else:
        cap = check_request(req, catalogue)
        estimate = estimate_cost(req, cap)
    unpriced = f"the catalogue could not be fetched: {why}" if catalogue is None else None
    check_cost_ceiling(state.settings.max_cost_usd, estimate, req.model, unpriced)
    outcome = await create_job(
        gateway,
        journal,
        req,
        key_fp=owner.key_fp,
        owner=owner.id,
        window_seconds=state.settings.duplicate_window_seconds,
        allow_duplicate=allow_duplicate,
    )
    if outcome.duplicate_of is not None:
        earlier = outcome.duplicate_of
        if earlier.video_id is None:  # answered, but the journal could not record its id
            owed = (
                vid
                for (fp, vid), row in state.unrecorded_creates.items()
                if row == earlier.row_id and fp == owner.id
            )
            if (known := next(owed, None)) is not None:
                earlier = earlier.model_copy(update={"video_id": known, "state": "created"})
        if earlier.video_id and earlier.state == "probable":
            return failure(
                "An identical create was sent within the last "
                f"{state.settings.duplicate_window_seconds / 60:.0f} minutes but its answer never "
                f"came; {earlier.video_id} is probably the job it made (the only gateway job "
                "matching its model, settings and time, not confirmed by the gateway). Check "
                "it with get_video_status; pass allow_duplicate=true only if the user wants a "
                "second, separately billed copy.",
                kind="duplicate",
                video_id=earlier.video_id,
                status=earlier.status,
                next_call={"tool": "get_video_status", "arguments": {"video_id": earlier.video_id}},
            )
        if earlier.video_id:
            return failure(
                f"An identical video was already requested within the last "
                f"{state.settings.duplicate_window_seconds / 60:.0f} minutes: {earlier.video_id} "
                f"(status {earlier.status or 'unknown'}). Use that job; pass "
                "allow_duplicate=true only if the user wants a second, separately billed copy.",
                kind="duplicate",
                video_id=earlier.video_id,
                status=earlier.status,
                next_call={"tool": "wait_for_video", "arguments": {"video_id": earlier.video_id}},
            )
        return failure(
            "An identical create is already in flight or its outcome is unknown; it may have "
            "made a job. Call list_videos to find it instead of creating again.",
            kind="duplicate",
            next_call={"tool": "list_videos", "arguments": {}},
        )
    job = cast(Job, outcome.job)
    warning = None
    if outcome.journal_error and outcome.row_id is not None:
        warning = journal_warning(outcome.journal_error)
        state.unrecorded_creates.put((owner.id, job.video_id), outcome.row_id)
    result = video_result(job, estimated_cost_usd=estimate, note=note, warning=warning)
    return success(result, "Paid job started. " + summarize_video(result))


async def status(ctx: Context, video_id: str) -> CallToolResult:
    check_video_id(video_id)
    job, warning = await look_up(*gateway_for(ctx), video_id)
    result = video_result(job, warning=warning)
    return success(result, summarize_video(result))


async def wait(ctx: Context, video_id: str, timeout_seconds: int) -> CallToolResult:
    check_video_id(video_id)
    state, gateway, owner = gateway_for(ctx)
    settings = state.settings

    async def fetch(deadline: float) -> Job:
        return Job.from_api(await gateway.get(video_id, deadline=deadline))

    async def on_progress(value: float, message: str) -> None:
        await ctx.report_progress(value, 100.0, message)

    async with stop_if_client_leaves(ctx) as client:
        job, exhausted = await wait_for_job(
            video_id,
            fetch,
            budget_seconds=float(timeout_seconds),
            clock=state.clock,
            poll_floor=settings.poll_floor_seconds,
            heartbeat=settings.heartbeat_seconds,
            pacer=state.pacer,
            on_progress=on_progress,
        )
    if client.gone:  # no one is left to read an answer; said for the log
        return failure(
            "The client disconnected, so the wait stopped. Call wait_for_video again.",
            kind="unavailable",
            next_call={"tool": "wait_for_video", "arguments": {"video_id": video_id}},
            video_id=video_id,
        )
    warning = await journal_status(state, owner, job)
    guidance = None
    if exhausted:
        guidance = Guidance(
            next_step=(
                f"Still {job.status} after {timeout_seconds}s; this is normal for video. Call "
                f"wait_for_video(video_id={video_id!r}) again."
            ),
            next_call=NextCall(tool="wait_for_video", arguments={"video_id": video_id}),
        )
    result = video_result(job, budget_exhausted=exhausted, guidance=guidance, warning=warning)
    return success(result, summarize_video(result))


# ------------------------------------------------------------------ list / delete / models


async def delete(ctx: Context, video_id: str) -> CallToolResult:
    check_video_id(video_id)
    state, gateway, owner = gateway_for(ctx)
    await gateway.delete(video_id)
    journal = await state.journal()
    warning = None
    if journal is not None:
        try:
            await anyio.to_thread.run_sync(
                lambda: journal.mark_deleted(owner.key_fp, video_id, owner=owner.id)
            )
        except JournalError as exc:
            warning = journal_warning(exc.message)
    result = DeleteResult(
        video_id=video_id,
        deleted=True,
        next_step="Deleted at the gateway; local files were kept.",
        warning=warning,
    )
    text = f"{video_id} deleted at the gateway." + (f" Warning: {warning}" if warning else "")
    return success(result, text)


async def models(ctx: Context, *, params: list[str] | None) -> CallToolResult:
    state, gateway, owner = gateway_for(ctx)
    listing, cached = await state.catalog.get(gateway, owner.key_fp, params)
    summaries = [summarize(m) for m in listing.data]
    result = ModelsResult(
        models=summaries,
        cached=cached,
        next_step="Call create_video with one of these model ids and only its listed values.",
    )
    return success(result, summarize_models(result))
