"""Create a job without ever losing it or paying twice.

Order of events: fingerprint → duplicate guard + intent row committed in the journal →
exactly one POST → the row gets the video id, or "outcome unknown" when no answer came,
or is released when the gateway refused (an error answer carries no id, so no job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from phaseo_mcp.errors import OutcomeUnknown, PhaseoError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.models import CreateVideoRequest, Job
from phaseo_mcp.jobs.fingerprint import request_fingerprint, without_secrets

if TYPE_CHECKING:
    from phaseo_mcp.jobs.journal import JobRecord, Journal


@dataclass(frozen=True)
class CreateOutcome:
    job: Job | None = None
    duplicate_of: JobRecord | None = None


async def create_job(
    gateway: GatewayClient,
    journal: Journal,
    req: CreateVideoRequest,
    *,
    key_fp: str,
    window_seconds: float,
    allow_duplicate: bool,
) -> CreateOutcome:
    from phaseo_mcp.jobs.journal import Duplicate

    body = req.body()
    fingerprint = request_fingerprint(key_fp, gateway.base_url, body)
    claim = await anyio.to_thread.run_sync(
        lambda: journal.claim(
            key_fingerprint=key_fp,
            fingerprint=fingerprint,
            base_url=gateway.base_url,
            request=without_secrets(body),
            window_seconds=window_seconds,
            allow_duplicate=allow_duplicate,
        )
    )
    if isinstance(claim, Duplicate):
        return CreateOutcome(duplicate_of=claim.existing)
    row_id = claim.record.row_id
    try:
        obj = await gateway.create(body)
    except OutcomeUnknown as exc:
        unknown = exc.message
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                lambda: journal.mark_outcome_unknown(row_id, error=unknown)
            )
        raise
    except PhaseoError as exc:
        # An error answer (or no connection at all): no job exists, release the guard.
        refused = exc.message
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: journal.mark_rejected(row_id, error=refused))
        raise
    except BaseException:
        # Cancelled mid-request: the POST may have reached the gateway.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                lambda: journal.mark_outcome_unknown(row_id, error="cancelled while creating")
            )
        raise
    job = Job.from_api(obj)
    await anyio.to_thread.run_sync(
        lambda: journal.mark_created(
            row_id, video_id=job.video_id, status=job.status, cost_usd=job.cost_usd
        )
    )
    return CreateOutcome(job=job)
