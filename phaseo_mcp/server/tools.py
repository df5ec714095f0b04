"""The tools: arguments → jobs/gateway → results. Thin on purpose.

(No ``from __future__ import annotations`` here: the SDK evaluates these signatures.) Each
tool imports ``operations`` when it is called, which keeps httpx and the jobs layer out of
start-up (spawn → tools/list).

Descriptions are what the model reads: when to call, what comes back, what next.
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field, WithJsonSchema
from pydantic.fields import FieldInfo

from phaseo_mcp.config import (
    DEFAULT_DUPLICATE_WINDOW_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    MAX_URL_TTL_SECONDS,
    MAX_WAIT_TIMEOUT_SECONDS,
    MIN_URL_TTL_SECONDS,
    MIN_WAIT_TIMEOUT_SECONDS,
    Settings,
)
from phaseo_mcp.gateway.job import VideoStatus
from phaseo_mcp.gateway.requests import (
    MAX_REFERENCES,
    CreateVideoRequest,
    InputReference,
    OutputConfig,
    ProviderRouting,
    Webhook,
)
from phaseo_mcp.jobs.confirm import rule_brief
from phaseo_mcp.server.confirm import Confirmation, refusal
from phaseo_mcp.server.guarded import guarded
from phaseo_mcp.server.player_source import PLAYER_META
from phaseo_mcp.server.result_models import (
    CreateResult,
    DeleteResult,
    DownloadResult,
    ListResult,
    ModelsResult,
    VideoResult,
)

DUPLICATE_WINDOW_MINUTES = f"{DEFAULT_DUPLICATE_WINDOW_SECONDS / 60:.0f}"
VideoId = Annotated[
    str, Field(description="The video_id returned by create_video.", max_length=200)
]


def _api(name: str, description: str) -> Any:
    """The request field's own constraints (one source: gateway/requests.py) plus a description."""
    return FieldInfo.merge_field_infos(
        CreateVideoRequest.model_fields[name], description=description
    )


@guarded
async def create_video(
    ctx: Context,
    model: Annotated[str, _api("model", "Model id from list_video_models.")],
    prompt: Annotated[str, _api("prompt", "What the video shows.")],
    duration: Annotated[int | None, _api("duration", "Seconds; one the model allows.")] = None,
    size: Annotated[str | None, _api("size", "WIDTHxHEIGHT; not with resolution/ratio.")] = None,
    resolution: Annotated[str | None, _api("resolution", "e.g. 720p, 1080p.")] = None,
    aspect_ratio: Annotated[str | None, _api("aspect_ratio", "e.g. 16:9, 9:16, 1:1.")] = None,
    seed: Annotated[int | None, _api("seed", "For repeatable output.")] = None,
    sample_count: Annotated[int | None, _api("sample_count", "How many videos to make.")] = None,
    negative_prompt: Annotated[str | None, _api("negative_prompt", "What to avoid.")] = None,
    generate_audio: Annotated[bool | None, _api("generate_audio", "Add audio.")] = None,
    enhance_prompt: Annotated[bool | None, _api("enhance_prompt", "Let it rewrite.")] = None,
    compression_quality: Annotated[
        int | None, _api("compression_quality", "Encoder quality setting.")
    ] = None,
    person_generation: Annotated[
        str | None, _api("person_generation", "Provider policy value.")
    ] = None,
    resize_mode: Annotated[str | None, _api("resize_mode", "Provider resize mode.")] = None,
    input_references: Annotated[
        list[InputReference] | None,
        _api(
            "input_references",
            "Each {type:'image_url', role?:first_frame|last_frame|reference|source|mask, "
            "image_url:{url:'https://…'}} or {type:'video_url'|'audio_url', media_url:{url}}.",
        ),
        WithJsonSchema(
            {"type": ["array", "null"], "items": {"type": "object"}, "maxItems": MAX_REFERENCES}
        ),
    ] = None,
    input_video_duration: Annotated[
        float | None, _api("input_video_duration", "Seconds of the video_url reference.")
    ] = None,
    input_audio_duration: Annotated[
        float | None, _api("input_audio_duration", "Seconds of the audio_url reference.")
    ] = None,
    provider_params: Annotated[
        dict[str, Any] | None, _api("provider_params", "Provider-specific extras.")
    ] = None,
    output: Annotated[
        OutputConfig | None,
        _api("output", "{access: 'bytes'|'signed_url'|'both'} (default both)."),
        WithJsonSchema({"type": ["object", "null"]}),
    ] = None,
    webhook: Annotated[
        Webhook | None,
        _api("webhook", "{url:'https://…', secret?, events?} or {endpoint_id, events?}."),
        WithJsonSchema({"type": ["object", "null"]}),
    ] = None,
    provider: Annotated[
        ProviderRouting | None,
        _api("provider", "Routing: {order?, only?, ignore?: [provider ids], include_alpha?}."),
        WithJsonSchema({"type": ["object", "null"]}),
    ] = None,
    allow_duplicate: Annotated[
        bool,
        Field(
            description="Create even if an identical job was made in the last "
            f"{DUPLICATE_WINDOW_MINUTES} min."
        ),
    ] = False,
    confirmation: Confirmation = None,  # type: ignore[assignment]  # the price dialog's answer
) -> Annotated[CallToolResult, CreateResult]:
    """Start a PAID video job; returns at once with video_id and estimated_cost_usd.

    Each call costs money: one call per video the user asked for, with a model and values
    from list_video_models. An identical request within {window} min is refused with the earlier
    job (allow_duplicate=true only if the user wants another copy). Next: wait_for_video.
    After "outcome unknown", call list_videos; never create again."""
    fields = {k: v for k, v in locals().items() if k in CreateVideoRequest.model_fields}
    req = CreateVideoRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    if (refused := refusal(ctx, confirmation)) is not None:
        return refused
    from phaseo_mcp.server import operations as ops

    return await ops.create(ctx, req, allow_duplicate=allow_duplicate)


@guarded
async def get_video_status(
    ctx: Context, video_id: VideoId
) -> Annotated[CallToolResult, VideoResult]:
    """One look at a job, no waiting: status, progress, cost, outputs (signed URLs when
    present) and next_call. To wait, use wait_for_video, not a loop of this."""
    from phaseo_mcp.server import operations as ops

    return await ops.status(ctx, video_id)


@guarded
async def wait_for_video(
    ctx: Context,
    video_id: VideoId,
    timeout_seconds: Annotated[
        int,
        Field(
            ge=MIN_WAIT_TIMEOUT_SECONDS,
            le=MAX_WAIT_TIMEOUT_SECONDS,
            description="Seconds to wait in this call; the default fits client limits.",
        ),
    ] = DEFAULT_WAIT_TIMEOUT_SECONDS,
) -> Annotated[CallToolResult, VideoResult]:
    """Wait for a job, polling at the gateway's pace and sending progress.

    Returns when it completes (next_call: download_video) or fails (failure_kind says why),
    or when timeout_seconds ends: then a normal result whose next_call is wait_for_video."""
    from phaseo_mcp.server import operations as ops

    return await ops.wait(ctx, video_id, timeout_seconds)


@guarded
async def download_video(
    ctx: Context,
    video_id: VideoId,
    index: Annotated[
        int | None, Field(ge=0, le=16, description="Output index; omit for every output.")
    ] = None,
    filename: Annotated[
        str | None,
        Field(max_length=200, description="Bare file name in the output directory (no folders)."),
    ] = None,
    mode: Annotated[
        Literal["file", "url"] | None,
        Field(
            description=(
                "file: save into the server's output directory (default on stdio; over "
                "HTTP only if the server allows it); url: signed links (default over HTTP)."
            )
        ),
    ] = None,
    overwrite: Annotated[bool, Field(description="Replace a different existing file.")] = False,
    ttl_seconds: Annotated[
        int | None,
        Field(
            ge=MIN_URL_TTL_SECONDS, le=MAX_URL_TTL_SECONDS, description="url mode: link lifetime."
        ),
    ] = None,
) -> Annotated[CallToolResult, DownloadResult]:
    """Get a completed video: a verified file on disk (mode=file: size and sha256 checked,
    atomic, path and resource link; kept if already there) or signed links (mode=url; they
    expire). Not completed: wait_for_video first."""
    from phaseo_mcp.server.downloads import download

    return await download(
        ctx,
        video_id,
        index=index,
        filename=filename,
        mode=mode,
        overwrite=overwrite,
        ttl_seconds=ttl_seconds,
    )


@guarded
async def list_videos(
    ctx: Context,
    status: Annotated[
        list[VideoStatus] | None, Field(description="Only jobs in these statuses.")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Most recent N jobs.")] = 20,
) -> Annotated[CallToolResult, ListResult]:
    """This key's jobs, newest first: the local journal merged with the gateway. Use it after
    a timeout, an "outcome unknown" create or a restart instead of creating again; works
    offline (says so). An unanswered create shows its probable_match, else candidates."""
    from phaseo_mcp.server.listing import list_jobs

    return await list_jobs(ctx, statuses=status, limit=limit)


@guarded
async def delete_video(ctx: Context, video_id: VideoId) -> Annotated[CallToolResult, DeleteResult]:
    """Delete a finished (completed or failed) job at the gateway; cannot be undone.
    Running jobs cannot be deleted. Saved files are kept."""
    from phaseo_mcp.server import operations as ops

    return await ops.delete(ctx, video_id)


@guarded
async def list_video_models(
    ctx: Context,
    params: Annotated[
        list[str] | None,
        Field(description="Only models supporting all of these parameters, e.g. ['seed']."),
    ] = None,
) -> Annotated[CallToolResult, ModelsResult]:
    """Video models with the values each allows (durations, resolutions, aspect ratios,
    sample counts, audio, reference roles) and price. Call before create_video; use only
    the values listed for the chosen model."""
    from phaseo_mcp.server import operations as ops

    return await ops.models(ctx, params=params)


READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
# Overwrites or deletes what exists, but repeating the call changes nothing more.
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
TOOLS: list[tuple[Callable[..., Any], str, ToolAnnotations]] = [
    (
        create_video,
        "Create video (paid)",
        ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    ),
    (get_video_status, "Get video status", READ),
    (wait_for_video, "Wait for video", READ),
    (download_video, "Download video", DESTRUCTIVE),
    (list_videos, "List video jobs", READ),
    (delete_video, "Delete video", DESTRUCTIVE),
    (list_video_models, "List video models", READ),
]


def build_tools(settings: Settings | None = None) -> list[Tool]:
    """The tools, built once: the server serves them and the middleware checks their
    arguments (``MCPServer(tools=..., middleware=...)``). ``settings``: the price
    confirmation rule in create_video's description is theirs."""
    settings = settings or Settings()
    rule = rule_brief(settings.confirm_above_usd, settings.require_confirmation)
    return [
        Tool.from_function(
            fn,
            name=fn.__name__,
            title=title,
            description=inspect.cleandoc(cast(str, fn.__doc__)).format(
                window=DUPLICATE_WINDOW_MINUTES
            )
            + (f"\n{rule}" if rule and fn is create_video else ""),
            annotations=hints,
            meta=PLAYER_META if fn is create_video else None,
        )
        for fn, title, hints in TOOLS
    ]
