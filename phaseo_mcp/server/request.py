"""Per-request helpers: a gateway client with the caller's key (and the caller's owner), the
one way to look a job up, and recording what the gateway said about a job in the journal.

Apart from ``state.py`` because it loads httpx and the jobs layer: tools and resources import
it when first called, which keeps about 0.1 s off start-up (spawn -> tools/list)."""

from __future__ import annotations

import logging

import anyio
from mcp.server.mcpserver import Context

from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.errors import HEADER_KEY_HELP, KEY_HELP
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import journal_warning
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.logs import register_caller_secret
from phaseo_mcp.server.owner import caller_key, owner_for
from phaseo_mcp.server.state import AppState, state_of

log = logging.getLogger(__name__)


def gateway_for(ctx: Context) -> tuple[AppState, GatewayClient, Owner]:
    """The shared state, a gateway client with the caller's key, and the caller's owner."""
    state = state_of(ctx)
    settings = state.settings
    key = caller_key(ctx, settings)
    if settings.multi_user:
        register_caller_secret(key)  # the caller's own: redacted in this call's output only
    gateway = GatewayClient(
        state.http,
        base_url=settings.base_url,
        api_key=key,
        policy=settings.retry,
        clock=state.clock,
        key_help=HEADER_KEY_HELP if settings.multi_user else KEY_HELP,
    )
    return state, gateway, owner_for(settings, key)


async def journal_status(state: AppState, owner: Owner, job: Job) -> str | None:
    """Record what the gateway said about a job; a warning for the result when the journal
    could not (the caller still answers with the gateway's data)."""
    journal = await state.journal()
    if journal is None:
        return journal_warning(f"it is unavailable: {state.journal_error}")
    snapshot = (job.status, job.cost_usd, job.failure_message)
    key = (owner.id, job.video_id)
    if state.recorded.get(key) == snapshot:
        return None  # an unchanged poll: nothing to write
    row_id = state.unrecorded_creates.get(key)
    try:
        if row_id is not None:  # the create's own answer was never recorded: do it now
            await anyio.to_thread.run_sync(
                lambda: journal.mark_created(
                    row_id, video_id=job.video_id, status=job.status, cost_usd=job.cost_usd
                )
            )
            state.unrecorded_creates.pop(key)
        await anyio.to_thread.run_sync(
            lambda: journal.record_status(
                owner.key_fp,
                job.video_id,
                status=job.status,
                cost_usd=job.cost_usd,
                error=job.failure_message,
                owner=owner.id,
            )
        )
    except JournalError as exc:
        log.warning("journal write failed for %s: %s", job.video_id, exc.message)
        return journal_warning(exc.message)
    state.recorded.put(key, snapshot)  # only now: a failed write is tried again next time
    return None


async def look_up(
    state: AppState, gateway: GatewayClient, owner: Owner, video_id: str
) -> tuple[Job, str | None]:
    """The one way a tool or resource reads a job: one gateway request for its current
    state, recorded in the journal. Returns the job and a warning for the result when the
    journal could not record it."""
    check_video_id(video_id)
    job = Job.from_api(await gateway.get(video_id))
    return job, await journal_status(state, owner, job)
