"""The tools' output models: what each result's ``structuredContent`` holds, with the
``next_step``/``next_call`` guidance every one of them carries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from phaseo_mcp.errors import FailureKind
from phaseo_mcp.gateway.job import JobFailureKind, VideoStatus
from phaseo_mcp.jobs.catalog import ModelSummary


class NextCall(BaseModel):
    """The exact tool call to make next."""

    tool: str
    arguments: dict[str, Any] = {}


class Guidance(BaseModel):
    next_step: str
    next_call: NextCall | None = None


class OutputSummary(BaseModel):
    index: int
    mime_type: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    url: str | None = None
    expires_at: str | None = None


class VideoResult(Guidance):
    """A job's state: returned by create_video, get_video_status and wait_for_video."""

    video_id: str
    status: VideoStatus
    gateway_status: str | None = None
    terminal: bool
    progress: float | None = None
    poll_after_seconds: float | None = None
    cost_usd: float | None = None
    estimated_cost_usd: float | None = None
    failure_kind: JobFailureKind | None = None
    failure_message: str | None = None
    model: str | None = None
    created_at: str | None = None
    output_count: int = 0
    outputs: list[OutputSummary] = []
    asset: dict[str, Any] | None = None  # mime_type, bytes, sha256, width, height, duration
    budget_exhausted: bool | None = None
    note: str | None = None
    warning: str | None = None  # the gateway answered; the local journal could not record it


class SavedFileInfo(BaseModel):
    index: int
    path: str | None = None
    url: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    mime_type: str | None = None
    expires_at: str | None = None
    transferred: bool | None = None
    note: str | None = None  # e.g. the extension was corrected to match the content


class DownloadResult(Guidance):
    video_id: str
    mode: str
    files: list[SavedFileInfo]
    warning: str | None = None


class JobSummary(BaseModel):
    video_id: str | None
    status: str | None
    model: str | None = None
    prompt: str | None = None
    created_at: str | None = None
    cost_usd: float | None = None
    outcome_unknown: bool = False
    probable_match: bool = False  # linked by matching, not by the gateway's answer
    match_reason: str | None = None
    candidates: list[str] | None = None  # gateway jobs that match an unresolved create
    deleted: bool = False
    note: str | None = None


class ListResult(Guidance):
    videos: list[JobSummary]
    gateway_reachable: bool
    note: str | None = None
    warning: str | None = None


class DeleteResult(Guidance):
    video_id: str
    deleted: bool
    warning: str | None = None


class ModelsResult(Guidance):
    models: list[ModelSummary]
    cached: bool


class ErrorResult(Guidance):
    error: str
    failure_kind: FailureKind
    video_id: str | None = None
    status: str | None = None
