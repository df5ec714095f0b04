"""The gateway's responses, read tolerantly (../shared/phaseo-api.md).

The models keep unknown fields and accept both status vocabularies, int or ISO timestamps,
``seconds`` as number or string, ``error`` as string or object; ``gateway/job.py`` turns them
into the one normalised :class:`~phaseo_mcp.gateway.job.Job`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Asset(_Open):
    id: str | None = None
    mime_type: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


class Output(_Open):
    index: int = 0
    mime_type: str | None = None
    bytes_available: bool | None = None
    content_url: str | None = None
    download_url: str | None = None
    expires_at: int | str | None = None
    bytes: int | None = None
    sha256: str | None = None


class VideoObject(_Open):
    id: str
    object: str | None = None
    status: str | None = None
    lifecycle_status: str | None = None
    output_access: str | None = None
    polling_url: str | None = None
    poll_after_seconds: float | None = None
    model: str | None = None
    provider: str | None = None
    generation_id: str | None = None
    request_id: str | None = None
    created_at: int | float | str | None = None
    completed_at: int | float | str | None = None
    progress: float | None = None
    seconds: float | str | None = None
    size: str | None = None
    content_url: str | None = None
    download_url: str | None = None
    expires_at: int | str | None = None
    asset: Asset | None = None
    outputs: list[Output] | None = None
    usage: dict[str, Any] | None = None
    billing: dict[str, Any] | None = None
    error: Any = None


class VideoList(_Open):
    data: list[VideoObject] = []
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class DownloadUrl(_Open):
    download_url: str
    expires_at: int | str | None = None


class ModelCapability(_Open):
    model: str
    name: str | None = None
    status: str | None = None
    input_types: list[str] = []
    output_types: list[str] = []
    supported_params: list[str] | None = None
    supported_parameters: list[str] | None = None
    supported_params_detail: dict[str, Any] | None = None
    supported_parameters_detail: dict[str, Any] | None = None
    pricing: dict[str, Any] | None = None

    def params(self) -> list[str]:
        return list(self.supported_parameters or self.supported_params or [])

    def detail(self) -> dict[str, Any]:
        return dict(self.supported_parameters_detail or self.supported_params_detail or {})


class ModelList(_Open):
    data: list[ModelCapability] = []
