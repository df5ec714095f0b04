"""What a video task says and ends with (the wire and the checks are in ``tasks.py``).

``follow``: one ``tasks/get``. A completed task answers from its record (renewing signed
links about to expire). Otherwise the gateway is read only if this call wins the read slot
(``TaskRecords.claim_read``: once per poll interval, across replicas); the read's job either
keeps the task working (progress in ``statusMessage``), ends it with the same ``isError``
result the other tools give (failed, refused, expired, cancelled), or, completed, is
downloaded by the one call that takes the journal's lease: the saved files (stdio) or signed
links (HTTP) with the job's fields, valid against ``create_video``'s output schema.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent

from phaseo_mcp.config import DEFAULT_POLL_AFTER_SECONDS, Settings
from phaseo_mcp.errors import FailureKind, GatewayError, PhaseoError
from phaseo_mcp.gateway.job import Job, to_iso, to_unix
from phaseo_mcp.jobs.task_records import TaskRecord, TaskRecords
from phaseo_mcp.logs import for_result
from phaseo_mcp.os_errors import os_failure
from phaseo_mcp.server.result_models import CreateResult, DownloadResult, Guidance, SavedFileInfo
from phaseo_mcp.server.results import failure, from_exception, guidance_for, video_result
from phaseo_mcp.server.texts import clip, summarize_download

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# A download holding the lease longer is taken to have died. A slow one overtaken is safe:
# downloads write a temporary file and rename it without replacing (jobs/place.py).
DOWNLOAD_LEASE_SECONDS = 300.0
LINK_RENEW_MARGIN_SECONDS = 300.0  # renew signed links this close to their expiry
# A download that failed for these reasons is tried again by a later tasks/get; any other
# failure is the task's result (download_video remains there to try differently).
RETRYABLE: frozenset[FailureKind] = frozenset(
    {"unavailable", "rate_limited", "too_many_open_files"}
)


@dataclass
class TaskCall:
    """One ``tasks/*`` request: its caller, and the task it names."""

    context: Context[Any, Any]
    records: TaskRecords
    record: TaskRecord

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A journal call off the event loop."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def poll_seconds(settings: Settings, poll_after: float | None) -> float:
    """Real seconds between gateway reads: the gateway's poll_after_seconds, floored."""
    interval = max(poll_after or DEFAULT_POLL_AFTER_SECONDS, settings.poll_floor_seconds)
    return interval / settings.time_scale


def working_message(job: dict[str, Any]) -> str:
    progress = job.get("progress")
    done = f" {progress:.0f}%" if isinstance(progress, int | float) else ""
    return (
        f"Video job {job['video_id']} is {job.get('status')}{done}; the task completes "
        "with the finished video when it is done."
    )


def terminal_failure(job: Job) -> CallToolResult:
    """A job that ended without a video: download_video's answer for it."""
    return failure(
        f"{job.video_id} is {job.status} and has no video to download. "
        + guidance_for(job).next_step,
        kind=job.failure_kind or "other",
        video_id=job.video_id,
        status=job.status,
    )


def _wire(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def finished(call: TaskCall, job: Job) -> CallToolResult:
    """The completed job's video: download_video's result, with the job's fields."""
    from phaseo_mcp.server.downloads import download
    from phaseo_mcp.server.state import state_of

    video_id = job.video_id
    settings = state_of(call.context).settings
    try:
        got = await download(
            call.context,
            video_id,
            index=None,
            filename=None,
            mode=settings.default_download_mode,
            overwrite=False,
            ttl_seconds=None,
            job=job,
        )
    except PhaseoError as exc:
        return from_exception(exc, video_id=video_id)
    except OSError as exc:
        return from_exception(os_failure(exc, doing="download_video"), video_id=video_id)
    if got.is_error or not isinstance(got.structured_content, dict):
        return got
    saved = DownloadResult.model_validate(got.structured_content)
    video = video_result(job, guidance=Guidance(next_step=saved.next_step))
    merged = CreateResult.model_validate(
        {**video.model_dump(), "mode": saved.mode, "files": saved.files}
    ).model_copy(update={"warning": saved.warning or video.warning})
    return CallToolResult(content=got.content, structured_content=merged.model_dump(mode="json"))


def _failure_kind(result: CallToolResult) -> str | None:
    try:
        return str(json.loads(getattr(result.content[-1], "text", ""))["failure_kind"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


async def follow(call: TaskCall) -> TaskRecord:
    """One tasks/get: the task as it now stands (see the module docstring)."""
    from phaseo_mcp.server.request import gateway_for, journal_status

    record, records, video_id = call.record, call.records, call.record.video_id
    if record.completed:
        return await renew_links(call, record)
    if not await call.run(records.claim_read, video_id):
        return record  # too soon after the last read, by anyone: the last known state
    state, gateway, owner = gateway_for(call.context)
    try:
        job = Job.from_api(await gateway.get(video_id))
    except GatewayError as exc:
        if exc.status != 404:
            return await _unread(call, exc)
        gone = from_exception(exc, video_id=video_id)  # deleted, or never this key's
        return await call.run(records.complete, video_id, _wire(gone), message="Job not found.")
    except PhaseoError as exc:
        return await _unread(call, exc)
    await journal_status(state, owner, job)
    interval = poll_seconds(state.settings, job.poll_after_seconds)
    if not job.terminal:
        message = working_message({"video_id": video_id, **job.model_dump()})
        await call.run(records.note, video_id, message, poll_seconds=interval)
        return await call.run(records.get, video_id) or record
    if job.status != "completed":
        ended = terminal_failure(job)
        message = f"Video job {video_id} ended {job.status}: no video."
        return await call.run(records.complete, video_id, _wire(ended), message=message)
    holder = uuid.uuid4().hex
    won = await call.run(
        records.claim_download, video_id, holder, lease_seconds=DOWNLOAD_LEASE_SECONDS
    )
    if not won:
        await call.run(records.note, video_id, f"Video {video_id} is ready and being saved.")
        return await call.run(records.get, video_id) or record
    try:
        result = await finished(call, job)
    except BaseException:
        with anyio.CancelScope(shield=True):  # a stopped call frees the lease at once
            await call.run(records.release, video_id, holder)
        raise
    if result.is_error and _failure_kind(result) in RETRYABLE:
        await call.run(records.release, video_id, holder)
        reason = clip(getattr(result.content[0], "text", ""))  # already redacted (failure())
        message = f"Video {video_id} is ready but could not be fetched yet ({reason}); retrying."
        await call.run(records.note, video_id, message)
        return await call.run(records.get, video_id) or record
    done = f"Video job {video_id} completed." if not result.is_error else "Download failed."
    return await call.run(records.complete, video_id, _wire(result), message=done, holder=holder)


async def _unread(call: TaskCall, exc: PhaseoError) -> TaskRecord:
    """The gateway could not be read: the task stays working and says why."""
    message = for_result(
        f"The gateway could not be read ({clip(exc.message)}); the job continues and the "
        "next poll asks again."
    )
    await call.run(call.records.note, call.record.video_id, message)
    return await call.run(call.records.get, call.record.video_id) or call.record


def links_due(result: dict[str, Any], now: float) -> bool:
    """Whether a completed result holds signed links that expire within the margin."""
    structured = result.get("structuredContent")
    if result.get("isError") or not isinstance(structured, dict):
        return False
    if structured.get("mode") != "url":
        return False
    for item in structured.get("files") or []:
        expires = to_unix(item.get("expires_at")) if isinstance(item, dict) else None
        if expires is None or expires - now <= LINK_RENEW_MARGIN_SECONDS:
            return True
    return False


async def renew_links(call: TaskCall, record: TaskRecord) -> TaskRecord:
    """The completed record, with fresh signed links if the stored ones are expiring."""
    from phaseo_mcp.server.request import gateway_for

    result = record.result or {}
    if not links_due(result, time.time()):
        return record
    structured = CreateResult.model_validate(result["structuredContent"])
    _, gateway, _ = gateway_for(call.context)
    files: list[SavedFileInfo] = []
    try:
        for item in structured.files or []:
            minted = await gateway.download_url(structured.video_id, index=item.index)
            expires = to_iso(to_unix(minted.expires_at))
            files.append(
                item.model_copy(update={"url": minted.download_url, "expires_at": expires})
            )
    except PhaseoError as exc:  # the old links stay; the next call tries again
        log.warning("could not renew the links of %s: %s", structured.video_id, exc.message)
        return record
    renewed = structured.model_copy(update={"files": files})
    text = summarize_download(
        DownloadResult(
            video_id=renewed.video_id,
            mode="url",
            files=files,
            next_step=renewed.next_step,
            warning=renewed.warning,
        )
    )
    wire = _wire(
        CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=renewed.model_dump(mode="json"),
        )
    )
    await call.run(call.records.replace_result, record.video_id, wire)
    return await call.run(call.records.get, record.video_id) or record


async def cancel(call: TaskCall) -> None:
    """Ask the gateway to cancel; record what it said for the task's statusMessage."""
    from phaseo_mcp.server.request import gateway_for

    if call.record.completed:
        return
    video_id = call.record.video_id
    _, gateway, _ = gateway_for(call.context)
    try:
        await gateway.cancel(video_id)
        note = "Cancellation was requested at the gateway; the task ends when the job stops."
    except GatewayError as exc:
        if exc.status == 501:
            note = (
                "The gateway does not support cancelling video jobs (501), so the job "
                "continues and the task completes with its result."
            )
        else:
            note = f"The gateway refused to cancel ({clip(exc.message)}); the job continues."
    except PhaseoError as exc:
        note = f"The gateway could not be asked to cancel ({clip(exc.message)}); the job continues."
    await call.run(call.records.note_cancel, video_id, for_result(note))
