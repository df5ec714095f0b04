"""The inline player (MCP Apps): the ``ui://phaseo/player.html`` view and the app-only tool
it calls to follow a job and fetch the video.

``create_video`` names the view in ``_meta.ui.resourceUri``; a host with Apps renders it and
hands it the create result (``video_id``). The view then calls ``player_update`` (visibility
``["app"]``: never listed to the model) at the job's own pace. Each call makes at most one
gateway read, and none when the last read of that job is younger than its
``poll_after_seconds``: the last known state answers instead. Hosts without Apps never see
the view, the tool, or ``_meta.ui`` (``middleware/app_only.py`` removes them).

(No ``from __future__ import annotations`` here: the SDK evaluates the tool's signature.)
"""

import inspect
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated

import anyio
from mcp.server.apps import Apps, ResourceCsp
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from phaseo_mcp.config import Settings
from phaseo_mcp.errors import InputError
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.jobs import paths
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.server.guarded import guarded
from phaseo_mcp.server.player_source import (
    CHUNK_BYTES,
    PLAYER_URI,
    describe,
    inline_limit_bytes,
    media_origins,
    read_chunk,
)
from phaseo_mcp.server.state import AppState
from phaseo_mcp.server.tools import VideoId

UPDATE_TOOL = "player_update"


@dataclass
class Seen:
    job: Job
    read_at: float  # server clock


def player_html() -> str:
    return resources.files("phaseo_mcp.server").joinpath("view/player.html").read_text("utf-8")


async def _latest(ctx: Context, video_id: str, fresh: bool) -> tuple[AppState, Owner, Job]:
    """The job as last read, or read now (one request) when that read is due."""
    from phaseo_mcp.server.request import gateway_for, journal_status

    state, gateway, owner = gateway_for(ctx)
    key = (owner.id, video_id)
    seen = state.player_seen.get(key)
    now = state.clock.now()
    if seen is not None:
        pace = max(seen.job.poll_after_seconds or 0.0, state.settings.poll_floor_seconds)
        done = seen.job.terminal and not fresh
        if done or now - seen.read_at < pace:
            return state, owner, seen.job
    job = Job.from_api(await gateway.get(video_id))
    state.player_seen.put(key, Seen(job, now))
    await journal_status(state, owner, job)
    return state, owner, job


async def _saved_file(state: AppState, owner: Owner, job: Job) -> tuple[Path, int] | None:
    """Output 0 as this server saved it for this owner: under its default name, else the
    latest download the journal recorded (any ``filename``), as long as that file is still in
    the owner's folder with the recorded size."""
    settings = state.settings
    if not settings.server_files or not job.outputs:
        return None
    from phaseo_mcp.server.downloads import owner_folder

    folder = owner_folder(settings.output_dir, owner)
    name = paths.target_name(job.video_id, 0, job.outputs[0].mime_type, None, many=False).name
    journal = await state.journal()
    if journal is None:
        return None
    for path in (str(folder / name), None):  # the default name first, then any name
        try:
            find = partial(journal.find_download, index=0, path=path, owner=owner.id)
            record = await anyio.to_thread.run_sync(find, owner.key_fp, job.video_id)
        except JournalError:
            return None
        if record is not None and (found := _still_there(Path(record.path), folder, record.size)):
            return found
    return None


def _still_there(path: Path, folder: Path, size: int) -> tuple[Path, int] | None:
    """``path`` with its size, if it is still a regular file directly in ``folder`` (the
    download's own confinement: no symbolic link) of exactly ``size`` bytes."""
    if path.parent != folder:
        return None
    try:
        path = paths.confined_path(folder, path.name)
        return (path, size) if path.is_file() and path.stat().st_size == size else None
    except (InputError, OSError):
        return None


@guarded
async def player_update(
    ctx: Context,
    video_id: VideoId,
    chunk: Annotated[
        int | None, Field(ge=0, le=100_000, description="Fetch this base64 chunk of the video.")
    ] = None,
    fresh_link: Annotated[
        bool, Field(description="The signed link failed: read the job again for a new one.")
    ] = False,
    no_link: Annotated[
        bool, Field(description="The host blocks the link's origin: offer the saved file.")
    ] = False,
) -> CallToolResult:
    """For the inline video player only: the job's status and progress, then where to play
    it from (a signed URL, base64 chunks of the saved file, or words)."""
    check_video_id(video_id)
    state, owner, job = await _latest(ctx, video_id, fresh_link)
    saved = await _saved_file(state, owner, job) if job.status == "completed" else None
    if chunk is not None:
        if saved is None or saved[1] > inline_limit_bytes(state.settings):
            raise InputError(f"{video_id} has no saved file this player may read.")
        if chunk * CHUNK_BYTES >= saved[1]:
            raise InputError(f"{video_id} has no chunk {chunk}.")
        data = await anyio.to_thread.run_sync(read_chunk, saved[0], chunk)
        return CallToolResult(
            content=[TextContent(type="text", text=f"chunk {chunk} of {video_id}")],
            structured_content={"video_id": video_id, "chunk": chunk, "data": data},
        )
    view = describe(
        job,
        state.settings,
        state.clock.now(),
        saved[0] if saved else None,
        saved[1] if saved else None,
        links=not no_link,
    )
    return CallToolResult(
        content=[TextContent(type="text", text=f"{video_id}: {job.status}")],
        structured_content=view,
    )


def build_apps(settings: Settings) -> Apps:
    """The Apps extension: the player view (CSP from the settings) and its app-only tool."""
    apps = Apps()
    apps.add_html_resource(
        PLAYER_URI,
        player_html(),
        name="player",
        title="Phaseo video player",
        description="Shows a video job's progress, then plays the video.",
        csp=ResourceCsp(resource_domains=media_origins(settings)),
        prefers_border=True,
    )
    apps.tool(
        resource_uri=PLAYER_URI,
        visibility=["app"],
        name=UPDATE_TOOL,
        title="Player update",
        description=inspect.cleandoc(player_update.__doc__ or ""),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True),
    )(player_update)
    return apps
