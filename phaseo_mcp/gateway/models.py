"""Pydantic models of the gateway's video API (../shared/phaseo-api.md).

Strict in what we send (``CreateVideoRequest`` forbids unknown fields and checks every
documented constraint), tolerant in what we accept (``VideoObject`` and friends keep unknown
fields, accept both status vocabularies, int or ISO timestamps, ``seconds`` as number or
string, ``error`` as string or object). ``Job`` is the one normalised view the rest of the
server uses; the gateway's ``id`` becomes ``video_id`` here and nowhere else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

VideoStatus = Literal[
    "queued", "processing", "completed", "failed", "cancelled", "expired", "unknown"
]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "expired"})
FAILED_STATUSES: frozenset[str] = frozenset({"failed", "cancelled", "expired"})
Resolution = Literal["480p", "720p", "1080p", "1K", "2K", "4K"]
OutputAccess = Literal["bytes", "signed_url", "both"]
ReferenceRole = Literal["first_frame", "last_frame", "reference", "source", "mask"]
JobFailureKind = Literal[
    "content_refused", "provider_error", "insufficient_funds", "expired", "cancelled", "other"
]

MAX_PROMPT_CHARS = 32_000
MIN_DURATION, MAX_DURATION = 1, 120
MIN_SAMPLES, MAX_SAMPLES = 1, 4
MAX_REFERENCES = 8
VIDEO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$"
_STATUS_ALIASES: dict[str, VideoStatus] = {
    "pending": "queued",
    "queued": "queued",
    "in_progress": "processing",
    "processing": "processing",
    "running": "processing",
    "completed": "completed",
    "succeeded": "completed",
    "success": "completed",
    "complete": "completed",
    "failed": "failed",
    "error": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "expired": "expired",
}
# R6 rejects provider_params keys (at any depth) that shadow validated top-level fields.
_SHADOWED_PARAMS = frozenset(
    "request model prompt input content duration durationseconds inputvideoduration "
    "inputaudioduration seconds size resolution aspectratio ratio samplecount numberofvideos "
    "callbackurl".split()
)
_EVENT = re.compile(
    r"^(?:(?:job|video)\.)?(created|progress|completed|failed|cancelled|expired|status_changed)$"
)
_LOCAL_HTTP = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)")


_VIDEO_ID = re.compile(VIDEO_ID_PATTERN)


def check_video_id(video_id: str) -> str:
    """Refuse ids that could change the URL (slashes, dots, '?', '#', '%', spaces…)."""
    from phaseo_mcp.errors import InputError

    if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
        raise InputError(
            "video_id must be the id create_video returned (letters, digits, '-' and '_', "
            "like G-abc123); call list_videos to find your jobs."
        )
    return video_id


def normalize_status(raw: str | None) -> VideoStatus:
    """Both vocabularies (and common aliases) onto one; anything else is ``unknown``."""
    if not raw:
        return "unknown"
    return _STATUS_ALIASES.get(raw.strip().lower(), "unknown")


def _https(url: str, what: str) -> str:
    if not url.startswith("https://") or len(url) > 4096 or any(c.isspace() for c in url):
        raise ValueError(f"{what} must be an https:// URL")
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UrlRef(_Strict):
    url: str

    @field_validator("url")
    @classmethod
    def _check(cls, value: str) -> str:
        return _https(value, "reference url")


class ImageReference(_Strict):
    type: Literal["image_url"]
    role: ReferenceRole | None = None
    reference_type: str | None = Field(None, max_length=64)
    image_url: UrlRef


class MediaReference(_Strict):
    """R6: a video or audio reference (``media_url``)."""

    type: Literal["video_url", "audio_url"]
    role: ReferenceRole | None = None
    reference_type: str | None = Field(None, max_length=64)
    media_url: UrlRef


InputReference = Annotated[ImageReference | MediaReference, Field(discriminator="type")]


class OutputConfig(_Strict):
    access: OutputAccess = "both"


def _check_events(events: list[str] | None) -> list[str] | None:
    if events is not None and not any(_EVENT.match(e) for e in events):
        raise ValueError(
            "webhook events must include at least one of video.completed, video.failed, "
            "video.cancelled, video.expired, video.progress, video.created"
        )
    return events


class WebhookUrl(_Strict):
    """R2–R5 webhook: a URL, an optional signing secret, optional events."""

    url: str = Field(max_length=2048)
    secret: str | None = Field(None, min_length=1, max_length=512)
    events: list[str] | None = Field(None, max_length=16)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if _LOCAL_HTTP.match(value):
            return value
        return _https(value, "webhook url")

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return _check_events(value)


class WebhookEndpoint(_Strict):
    """R6 webhook: a dashboard-managed endpoint referenced by id."""

    endpoint_id: str = Field(min_length=1, max_length=128)
    events: list[str] | None = Field(None, max_length=16)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return _check_events(value)


def _webhook_shape(value: Any) -> str:
    """Which webhook shape a value means: an ``endpoint_id`` makes it the R6 one. Choosing
    first keeps a mistake's error to that shape, not a list of both shapes' complaints."""
    if isinstance(value, WebhookEndpoint) or (isinstance(value, dict) and "endpoint_id" in value):
        return "endpoint"
    return "url"


Webhook = Annotated[
    Annotated[WebhookUrl, Tag("url")] | Annotated[WebhookEndpoint, Tag("endpoint")],
    Discriminator(_webhook_shape),
]


class ProviderRouting(_Strict):
    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    include_alpha: bool | None = None
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None


def _shadowing_keys(value: Any, path: str = "provider_params") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if re.sub(r"[_\-]", "", str(key)).lower() in _SHADOWED_PARAMS:
                found.append(f"{path}.{key}")
            found.extend(_shadowing_keys(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_shadowing_keys(item, f"{path}[{i}]"))
    return found


class CreateVideoRequest(_Strict):
    """The body of ``POST /videos`` (R2 contract, R6 additions where they agree)."""

    model: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][\w.\-/:]*$")
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    duration: int | None = Field(None, ge=MIN_DURATION, le=MAX_DURATION)
    size: str | None = Field(None, pattern=r"^[1-9]\d{1,4}x[1-9]\d{1,4}$")
    resolution: Resolution | None = None
    aspect_ratio: str | None = Field(None, pattern=r"^[1-9]\d{0,2}:[1-9]\d{0,2}$")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    sample_count: int | None = Field(None, ge=MIN_SAMPLES, le=MAX_SAMPLES)
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    generate_audio: bool | None = None
    enhance_prompt: bool | None = None
    compression_quality: int | None = Field(None, ge=0, le=100)
    person_generation: str | None = Field(None, max_length=64)
    resize_mode: str | None = Field(None, max_length=64)
    input_references: list[InputReference] | None = Field(None, max_length=MAX_REFERENCES)
    input_video_duration: float | None = Field(None, gt=0, le=3600)  # R6
    input_audio_duration: float | None = Field(None, ge=2, le=20)  # R6
    provider_params: dict[str, Any] | None = None
    output: OutputConfig | None = None
    webhook: Webhook | None = None
    provider: ProviderRouting | None = None

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> CreateVideoRequest:
        if self.size and (self.resolution or self.aspect_ratio):
            raise ValueError(
                "size cannot be combined with resolution or aspect_ratio: "
                "pass either size (e.g. 1280x720) or resolution and/or aspect_ratio"
            )
        audio = [r for r in self.input_references or [] if r.type == "audio_url"]
        if audio and (len(audio) > 1 or self.input_audio_duration is None):
            raise ValueError(
                "an audio-driven video takes exactly one audio_url reference plus "
                "input_audio_duration (its length in seconds, 2-20)"
            )
        if self.input_audio_duration is not None and not audio:
            raise ValueError("input_audio_duration needs an audio_url reference")
        if self.provider_params and (bad := _shadowing_keys(self.provider_params)):
            raise ValueError(
                f"provider_params must not repeat top-level fields: {', '.join(bad)}; "
                "pass them as create_video arguments instead"
            )
        return self

    def body(self) -> dict[str, Any]:
        """The JSON body to send: only the fields the caller set."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- responses (tolerant)


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


# ---------------------------------------------------------------- the normalised job


def to_iso(value: int | float | str | None) -> str | None:
    """Unix seconds or an ISO string, as ISO-8601 UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).isoformat().replace("+00:00", "Z")
    try:
        return to_iso(float(value))
    except ValueError:
        return str(value)


def to_unix(value: int | float | str | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(float(value))
    except ValueError:
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None


def _money(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def error_text(error: Any) -> str | None:
    """The gateway's ``error`` (string or object) as one readable line."""
    if error is None or error == "":
        return None
    if isinstance(error, str):
        return error[:500]
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("code", "type", "message", "description") if error.get(k)]
        return (": ".join(dict.fromkeys(parts)) or str(error))[:500]
    return str(error)[:500]


_REFUSAL_WORDS = ("moderation", "content_policy", "safety", "guardrail", "refus", "blocked")


def classify_failure(status: VideoStatus, error: Any) -> JobFailureKind | None:
    if status == "expired":
        return "expired"
    if status == "cancelled":
        return "cancelled"
    if status != "failed":
        return None
    text = (error_text(error) or "").lower()
    if any(word in text for word in _REFUSAL_WORDS):
        return "content_refused"
    if "insufficient" in text or "funds" in text or "balance" in text:
        return "insufficient_funds"
    if "expired" in text:
        return "expired"
    return "provider_error" if text else "other"


class OutputInfo(BaseModel):
    index: int
    mime_type: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    download_url: str | None = None
    expires_at: str | None = None
    has_content_url: bool = False


class Job(BaseModel):
    """One video job as the rest of the server sees it."""

    video_id: str
    status: VideoStatus
    gateway_status: str | None
    progress: float | None
    poll_after_seconds: float | None
    model: str | None = None
    provider: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    duration_seconds: float | None = None
    size: str | None = None
    output_access: str | None = None
    cost_usd: float | None = None
    error: Any = None
    failure_kind: JobFailureKind | None = None
    failure_message: str | None = None
    asset: Asset | None = None
    outputs: list[OutputInfo] = []
    generation_id: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_api(cls, obj: VideoObject) -> Job:
        status = normalize_status(obj.status)
        if status == "unknown" and obj.lifecycle_status:
            lifecycle = normalize_status(obj.lifecycle_status)
            status = lifecycle if lifecycle in TERMINAL_STATUSES else status
        usage = obj.usage or {}
        billing = obj.billing or {}
        cost = _money(usage.get("cost"))
        if cost is None:
            cost = _money(usage.get("cost_usd"))
        if cost is None:
            cost = _money(billing.get("settled_user_cost"))
        if cost is None:
            cost = _money(billing.get("estimated_user_cost"))
        try:
            seconds = float(obj.seconds) if obj.seconds not in (None, "") else None
        except (TypeError, ValueError):
            seconds = None
        outputs = [
            OutputInfo(
                index=o.index,
                mime_type=o.mime_type,
                bytes=o.bytes,
                sha256=o.sha256,
                download_url=o.download_url,
                expires_at=to_iso(o.expires_at),
                has_content_url=bool(o.content_url),
            )
            for o in obj.outputs or []
        ]
        if not outputs and status == "completed":
            outputs = [
                OutputInfo(
                    index=0,
                    mime_type=obj.asset.mime_type if obj.asset else None,
                    download_url=obj.download_url,
                    expires_at=to_iso(obj.expires_at),
                    has_content_url=bool(obj.content_url),
                )
            ]
        if obj.asset and outputs and outputs[0].index == 0:
            first = outputs[0]
            outputs[0] = first.model_copy(
                update={
                    "bytes": first.bytes if first.bytes is not None else obj.asset.bytes,
                    "sha256": first.sha256 or obj.asset.sha256,
                    "mime_type": first.mime_type or obj.asset.mime_type,
                }
            )
        progress = obj.progress
        if progress is not None:
            progress = max(0.0, min(100.0, float(progress)))
        failure_kind = classify_failure(status, obj.error)
        return cls(
            video_id=obj.id,
            status=status,
            gateway_status=obj.status,
            progress=progress,
            poll_after_seconds=obj.poll_after_seconds,
            model=obj.model,
            provider=obj.provider,
            created_at=to_iso(obj.created_at),
            completed_at=to_iso(obj.completed_at),
            duration_seconds=seconds,
            size=obj.size,
            output_access=obj.output_access,
            cost_usd=cost,
            error=obj.error,
            failure_kind=failure_kind,
            failure_message=error_text(obj.error) if failure_kind else None,
            asset=obj.asset,
            outputs=outputs,
            generation_id=obj.generation_id or obj.request_id,
        )
