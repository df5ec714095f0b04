"""What the tools return: output models, ``next_step``/``next_call`` guidance, and the one
place where errors become ``isError`` results (the text summaries are in ``texts``)."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, ValidationError

from phaseo_mcp.errors import FailureKind, PhaseoError
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.logs import for_result
from phaseo_mcp.server.result_models import (
    ErrorResult,
    Guidance,
    NextCall,
    OutputSummary,
    VideoResult,
)
from phaseo_mcp.server.texts import clip, compact_json

ASSET_FIELDS = {"mime_type", "bytes", "sha256", "width", "height", "duration_seconds"}


def _wait_call(video_id: str) -> NextCall:
    return NextCall(tool="wait_for_video", arguments={"video_id": video_id})


def guidance_for(job: Job) -> Guidance:
    vid = job.video_id
    if job.status in ("queued", "processing"):
        return Guidance(
            next_step=(
                f"Still rendering; call wait_for_video(video_id={vid!r}) — it returns within "
                "its budget and can be called again until the job is done."
            ),
            next_call=_wait_call(vid),
        )
    if job.status == "completed":
        return Guidance(
            next_step=f"Ready: call download_video(video_id={vid!r}) to save it or get a link.",
            next_call=NextCall(tool="download_video", arguments={"video_id": vid}),
        )
    if job.status == "unknown":
        return Guidance(
            next_step=(
                f"The gateway reported an unrecognised status {job.gateway_status!r}; look "
                "again with get_video_status in a little while, and do not create a new job."
            ),
            next_call=NextCall(tool="get_video_status", arguments={"video_id": vid}),
        )
    reason = clip(job.failure_message or "no reason given")
    steps = {
        "content_refused": (
            f"The provider's safety filter refused this video ({reason}). Do not retry the same "
            "prompt: change the content or ask the user."
        ),
        "insufficient_funds": "The account ran out of funds; add credits before creating again.",
        "expired": "The job expired; create it again if the user still wants it.",
        "cancelled": "The job was cancelled; create it again if the user still wants it.",
        "provider_error": (
            f"The provider failed ({reason}). Creating it again starts a new paid job: ask the "
            "user first, or pick another model."
        ),
    }
    fallback = (
        f"The job failed ({reason}). Creating it again starts a new paid job: ask the user "
        "first, or pick another model."
    )
    return Guidance(next_step=steps.get(job.failure_kind or "", fallback))


def video_result(job: Job, **extra: Any) -> VideoResult:
    outputs = [
        OutputSummary(
            index=o.index,
            mime_type=o.mime_type,
            bytes=o.bytes,
            sha256=o.sha256,
            url=o.download_url,
            expires_at=o.expires_at,
        )
        for o in job.outputs
    ]
    asset = job.asset.model_dump(include=ASSET_FIELDS) if job.asset else None
    guide = extra.pop("guidance", None) or guidance_for(job)
    return VideoResult(
        video_id=job.video_id,
        status=job.status,
        gateway_status=job.gateway_status,
        terminal=job.terminal,
        progress=job.progress,
        poll_after_seconds=job.poll_after_seconds,
        cost_usd=job.cost_usd,
        failure_kind=job.failure_kind,
        failure_message=job.failure_message,
        model=job.model,
        created_at=job.created_at,
        output_count=len(outputs),
        outputs=outputs,
        asset=asset,
        next_step=guide.next_step,
        next_call=guide.next_call,
        **extra,
    )


def success(model: BaseModel, text: str, extra: list[ContentBlock] | None = None) -> CallToolResult:
    """``text`` goes out whole: its producer shortens only the free-text parts (see clip)."""
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    return CallToolResult(
        content=content + (extra or []),
        structured_content=model.model_dump(mode="json"),
    )


def failure(
    message: str,
    *,
    kind: FailureKind = "other",
    next_call: dict[str, Any] | None = None,
    video_id: str | None = None,
    status: str | None = None,
) -> CallToolResult:
    call = NextCall.model_validate(next_call) if next_call else None
    message = for_result(message)  # gateway descriptions are quoted, and may echo what we sent
    payload = ErrorResult(
        error=message,
        failure_kind=kind,
        video_id=video_id,
        status=status,
        next_step=message,
        next_call=call,
    )
    # No structuredContent: TypeScript clients validate it against the tool's output schema
    # even on errors. The same fields travel as a compact JSON text block instead.
    details = payload.model_dump(mode="json", exclude={"next_step"}, exclude_none=True)
    return CallToolResult(
        content=[
            TextContent(type="text", text=message),
            TextContent(type="text", text=compact_json(details)),
        ],
        is_error=True,
    )


def from_exception(exc: PhaseoError, *, video_id: str | None = None) -> CallToolResult:
    return failure(exc.message, kind=exc.failure_kind, next_call=exc.next_call, video_id=video_id)


def describe_validation(exc: ValidationError, what: str) -> str:
    """A pydantic error as one line per field, without echoing long input values."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return f"Invalid {what}: " + "; ".join(lines) + ". Nothing was sent to the gateway."
