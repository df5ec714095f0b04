"""Create a job without ever losing it or paying twice.

Order of events: fingerprint → duplicate guard + intent row committed in the journal →
exactly one POST → the row gets the video id, or "outcome unknown" when no answer came,
or is released when the gateway refused (an error answer carries no id, so no job).

Once the POST is sent, a journal failure never replaces the gateway's answer: a job the
gateway made is returned with ``journal_error`` set, and a gateway error is raised as it came.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from phaseo_mcp.errors import OutcomeUnknown, PhaseoError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.jobs.fingerprint import request_fingerprint, without_secrets
from phaseo_mcp.jobs.journal import Duplicate, JobRecord, Journal, JournalError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreateOutcome:
    job: Job | None = None
    duplicate_of: JobRecord | None = None
    journal_error: str | None = None  # the job exists, but the journal could not record it
    row_id: int | None = None  # the intent row that stands for the job until it is recorded


async def _record_after_post(write: Callable[[], Any]) -> str | None:
    """Run a journal write that follows the POST; its failure is reported, never raised."""
    try:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(write)
    except Exception as exc:  # the gateway's answer matters more than the journal's
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        log.warning("the journal could not record a create's outcome: %s", message)
        return str(message)
    return None


async def create_job(
    gateway: GatewayClient,
    journal: Journal,
    req: CreateVideoRequest,
    *,
    key_fp: str,
    owner: str | None = None,
    window_seconds: float,
    allow_duplicate: bool,
) -> CreateOutcome:
    body = req.body()
    fingerprint = request_fingerprint(key_fp, gateway.base_url, body)
    try:
        claim = await anyio.to_thread.run_sync(
            lambda: journal.claim(
                key_fingerprint=key_fp,
                fingerprint=fingerprint,
                base_url=gateway.base_url,
                request=without_secrets(body),
                window_seconds=window_seconds,
                allow_duplicate=allow_duplicate,
                owner=owner,
            )
        )
    except JournalError as exc:
        raise JournalError(
            f"{exc.message} Nothing was sent to the gateway, so no job was made or billed; "
            "create it again once the journal is fixed.",
            failure_kind=exc.failure_kind,
        ) from exc
    if isinstance(claim, Duplicate):
        return CreateOutcome(duplicate_of=claim.existing)
    row_id = claim.record.row_id
    try:
        obj = await gateway.create(body)
    except OutcomeUnknown as exc:
        unknown = exc.message
        await _record_after_post(lambda: journal.mark_outcome_unknown(row_id, error=unknown))
        raise  # the intent row (still guarded) stands for it even if that write failed
    except PhaseoError as exc:
        # An error answer (or no connection at all): no job exists, release the guard.
        refused = exc.message
        await _record_after_post(lambda: journal.mark_rejected(row_id, error=refused))
        raise
    except BaseException:
        # Cancelled mid-request: the POST may have reached the gateway.
        await _record_after_post(
            lambda: journal.mark_outcome_unknown(row_id, error="cancelled while creating")
        )
        raise
    job = Job.from_api(obj)
    failed = await _record_after_post(
        lambda: journal.mark_created(
            row_id, video_id=job.video_id, status=job.status, cost_usd=job.cost_usd
        )
    )
    return CreateOutcome(job=job, journal_error=failed, row_id=row_id)
