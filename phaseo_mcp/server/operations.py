"""What each tool does, between the MCP context and the jobs layer.

Each function takes the request context, finds the shared state and the caller's key, calls
into ``jobs/`` or ``gateway/``, and shapes the result with ``results.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from phaseo_mcp.errors import ConfigError, InputError, PhaseoError, TransportError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.errors import KEY_HELP
from phaseo_mcp.gateway.models import (
    CreateVideoRequest,
    Job,
    WebhookUrl,
    check_video_id,
    to_iso,
    to_unix,
)
from phaseo_mcp.jobs.catalog import check_request, estimate_cost, summarize
from phaseo_mcp.jobs.create import create_job
from phaseo_mcp.jobs.fingerprint import key_fingerprint
from phaseo_mcp.jobs.wait import wait_for_job
from phaseo_mcp.logs import register_secret
from phaseo_mcp.server.app import AppState, state_of

if TYPE_CHECKING:
    from phaseo_mcp.jobs.journal import JobRecord, Journal
from phaseo_mcp.server.results import (
    DeleteResult,
    Guidance,
    JobSummary,
    ListResult,
    ModelsResult,
    NextCall,
    failure,
    success,
    summarize_video,
    video_result,
)

API_KEY_HEADER = "x-phaseo-api-key"
MATCH_WINDOW_SECONDS = 600
MERGE_WINDOW_ROWS = 500  # journal rows compared with the gateway's listing


def gateway_for(ctx: Context) -> tuple[AppState, GatewayClient, str]:
    """The shared state, a gateway client with the caller's key, and that key's fingerprint."""
    state = state_of(ctx)
    settings = state.settings
    if settings.multi_user:
        headers = ctx.headers or {}
        key = next((v for k, v in headers.items() if k.lower() == API_KEY_HEADER), "").strip()
        if not key:
            raise ConfigError(
                "This server runs in multi-user mode: send your own Phaseo API key in the "
                "X-Phaseo-Api-Key header of each request (the operator's key is never used)."
            )
    else:
        key = settings.api_key_value() or ""
        if not key:
            raise ConfigError(f"No Phaseo API key is configured. {KEY_HELP}")
    register_secret(key)
    gateway = GatewayClient(
        state.http,
        base_url=settings.base_url,
        api_key=key,
        policy=settings.retry,
        clock=state.clock,
    )
    return state, gateway, key_fingerprint(key)


async def journal_status(state: AppState, key_fp: str, job: Job) -> None:
    journal = await state.journal()
    if journal is None:
        return
    snapshot = (job.status, job.cost_usd, job.failure_message)
    if state.recorded.get((key_fp, job.video_id)) == snapshot:
        return  # an unchanged poll: nothing to write
    state.recorded[(key_fp, job.video_id)] = snapshot
    await anyio.to_thread.run_sync(
        lambda: journal.record_status(
            key_fp,
            job.video_id,
            status=job.status,
            cost_usd=job.cost_usd,
            error=job.failure_message,
        )
    )


# ------------------------------------------------------------------ create / status / wait


def _check_cost_ceiling(
    ceiling: float | None, estimate: float | None, model: str, unpriced: str | None
) -> None:
    """Refuse, before anything is sent, a create above PHASEO_MAX_COST_USD or that cannot be
    priced while the limit is set (``unpriced``: why there is no catalogue to price it)."""
    if ceiling is None:
        return
    if estimate is None:
        why = unpriced or f"the catalogue gives no price for {model}"
        message = (
            f"PHASEO_MAX_COST_USD limits a video to ${ceiling:.2f}, but this one's cost cannot "
            f"be estimated ({why}). Nothing was sent: pick a model that list_video_models "
            "shows with a price, try again later, or ask the user to unset the limit."
        )
    elif estimate > ceiling:
        message = (
            f"This video is estimated at ${estimate:.2f}, above the PHASEO_MAX_COST_USD limit "
            f"of ${ceiling:.2f}. Nothing was sent: choose a shorter duration, fewer samples or "
            "a cheaper model, or ask the user to raise the limit."
        )
    else:
        return
    raise InputError(
        message,
        failure_kind="over_budget",
        next_call={"tool": "list_video_models", "arguments": {}},
    )


async def create(ctx: Context, req: CreateVideoRequest, *, allow_duplicate: bool) -> CallToolResult:
    if isinstance(req.webhook, WebhookUrl):
        register_secret(req.webhook.secret)  # redacted from logs and error results from now on
    state, gateway, key_fp = gateway_for(ctx)
    journal = await state.require_journal()
    catalogue, why = await state.catalog.try_get(gateway, key_fp)
    note = None
    estimate: float | None = None
    if catalogue is None:
        note = f"The model catalogue could not be fetched ({why}); parameters were not checked."
    else:
        cap = check_request(req, catalogue)
        estimate = estimate_cost(req, cap)
    unpriced = f"the catalogue could not be fetched: {why}" if catalogue is None else None
    _check_cost_ceiling(state.settings.max_cost_usd, estimate, req.model, unpriced)
    outcome = await create_job(
        gateway,
        journal,
        req,
        key_fp=key_fp,
        window_seconds=state.settings.duplicate_window_seconds,
        allow_duplicate=allow_duplicate,
    )
    if outcome.duplicate_of is not None:
        earlier = outcome.duplicate_of
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
    result = video_result(job, estimated_cost_usd=estimate, note=note)
    return success(result, "Paid job started. " + summarize_video(result))


async def status(ctx: Context, video_id: str) -> CallToolResult:
    check_video_id(video_id)
    state, gateway, key_fp = gateway_for(ctx)
    job = Job.from_api(await gateway.get(video_id))
    await journal_status(state, key_fp, job)
    result = video_result(job)
    return success(result, summarize_video(result))


async def wait(ctx: Context, video_id: str, timeout_seconds: int) -> CallToolResult:
    check_video_id(video_id)
    state, gateway, key_fp = gateway_for(ctx)
    settings = state.settings

    async def fetch(deadline: float) -> Job:
        return Job.from_api(await gateway.get(video_id, deadline=deadline))

    async def on_progress(value: float, message: str) -> None:
        await ctx.report_progress(value, 100.0, message)

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
    await journal_status(state, key_fp, job)
    guidance = None
    if exhausted:
        guidance = Guidance(
            next_step=(
                f"Still {job.status} after {timeout_seconds}s; this is normal for video. Call "
                f"wait_for_video(video_id={video_id!r}) again."
            ),
            next_call=NextCall(tool="wait_for_video", arguments={"video_id": video_id}),
        )
    result = video_result(job, budget_exhausted=exhausted, guidance=guidance)
    return success(result, summarize_video(result))


# ------------------------------------------------------------------ list / delete / models


async def list_jobs(ctx: Context, *, statuses: Sequence[str] | None, limit: int) -> CallToolResult:
    state, gateway, key_fp = gateway_for(ctx)
    journal = await state.require_journal()
    reachable = True
    note = None
    # "unknown" is our name for a status we could not read, not one the gateway filters on.
    upstream_statuses = [s for s in statuses or () if s != "unknown"] or None
    try:
        listing = await gateway.list(limit=limit, statuses=upstream_statuses)
    except PhaseoError as exc:
        if exc.failure_kind in ("config", "auth"):
            raise
        reachable = False
        what = "could not be reached" if isinstance(exc, TransportError) else "refused the listing"
        note = f"The gateway {what} ({exc.message}); showing the local journal."
        listing = None
    if listing is not None:
        rows = await anyio.to_thread.run_sync(
            lambda: journal.list_jobs(key_fp, limit=MERGE_WINDOW_ROWS, include_deleted=True)
        )
        known = {r.video_id for r in rows}
        unresolved = [r for r in rows if r.video_id is None and not r.deleted]
        for obj in listing.data:
            job = Job.from_api(obj)
            if job.video_id not in known:
                await _attach_unknown(journal, key_fp, unresolved, job, to_unix(obj.created_at))
            await journal_status(state, key_fp, job)
    records = await anyio.to_thread.run_sync(
        lambda: journal.list_jobs(key_fp, statuses=statuses, limit=limit)
    )
    videos = [
        JobSummary(
            video_id=r.video_id,
            status=r.status,
            model=r.model,
            prompt=(r.prompt or "")[:80] or None,
            created_at=to_iso(r.created_at),
            cost_usd=r.cost_usd,
            outcome_unknown=r.state == "outcome_unknown",
            deleted=r.deleted,
            note=(
                "Create sent but no answer came; the gateway has not listed a matching job yet."
                if r.state in ("outcome_unknown", "intent") and not r.video_id
                else None
            ),
        )
        for r in records
    ]
    result = ListResult(
        videos=videos,
        gateway_reachable=reachable,
        note=note,
        next_step="Pick a job and call wait_for_video or download_video with its video_id.",
    )
    text = f"{len(videos)} job(s)." + ("" if reachable else " From the local journal only.")
    return success(result, text)


async def _attach_unknown(
    journal: Journal, key_fp: str, unresolved: list[JobRecord], job: Job, created: int | None
) -> None:
    """Link an intent or "outcome unknown" row to the gateway job it most likely made: the
    same model, created closest in time (within MATCH_WINDOW_SECONDS)."""
    if created is None:
        return
    candidates = [
        r
        for r in unresolved
        if r.model == job.model and abs(r.created_at - created) <= MATCH_WINDOW_SECONDS
    ]
    if not candidates:
        return
    best = min(candidates, key=lambda r: abs(r.created_at - created))
    unresolved.remove(best)
    await anyio.to_thread.run_sync(
        lambda: journal.attach_video_id(key_fp, best.row_id, job.video_id)
    )


async def delete(ctx: Context, video_id: str) -> CallToolResult:
    check_video_id(video_id)
    state, gateway, key_fp = gateway_for(ctx)
    await gateway.delete(video_id)
    journal = await state.journal()
    if journal is not None:
        await anyio.to_thread.run_sync(lambda: journal.mark_deleted(key_fp, video_id))
    result = DeleteResult(
        video_id=video_id,
        deleted=True,
        next_step="Deleted at the gateway; local files were kept.",
    )
    return success(result, f"{video_id} deleted at the gateway.")


async def models(ctx: Context, *, params: list[str] | None) -> CallToolResult:
    state, gateway, key_fp = gateway_for(ctx)
    listing, cached = await state.catalog.get(gateway, key_fp, tuple(sorted(params or [])))
    summaries = [summarize(m) for m in listing.data]
    result = ModelsResult(
        models=summaries,
        cached=cached,
        next_step="Call create_video with one of these model ids and only its listed values.",
    )
    return success(
        result, f"{len(summaries)} video model(s): " + ", ".join(s.id for s in summaries)
    )
