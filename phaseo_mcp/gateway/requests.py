"""The strict request: what we send the gateway's ``POST /videos`` (../shared/phaseo-api.md).

``CreateVideoRequest`` forbids unknown fields and checks every documented constraint, so bad
input is refused before anything is sent.
"""

from __future__ import annotations

import re
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

from phaseo_mcp.errors import InputError

Resolution = Literal["480p", "720p", "1080p", "1K", "2K", "4K"]
OutputAccess = Literal["bytes", "signed_url", "both"]
ReferenceRole = Literal["first_frame", "last_frame", "reference", "source", "mask"]

MAX_PROMPT_CHARS = 32_000
MIN_DURATION, MAX_DURATION = 1, 120
MIN_SAMPLES, MAX_SAMPLES = 1, 4
MAX_REFERENCES = 8
VIDEO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$"
# R6 rejects provider_params keys (at any depth) that shadow validated top-level fields.
_SHADOWED_PARAMS = frozenset(
    "request model prompt input content duration durationseconds inputvideoduration "
    "inputaudioduration seconds size resolution aspectratio ratio samplecount numberofvideos "
    "callbackurl".split()
)
_EVENT = re.compile(
    r"^(?:(?:job|video)\.)?(created|progress|completed|failed|cancelled|expired|status_changed)$"
)
# The gateway's own, documented exceptions to "https only" for webhooks (phaseo-api.md):
# exactly these three hosts, not every loopback address (that is config.is_loopback).
_LOCAL_HTTP = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)")


_VIDEO_ID = re.compile(VIDEO_ID_PATTERN)


def check_video_id(video_id: str) -> str:
    """Refuse ids that could change the URL (slashes, dots, '?', '#', '%', spaces…)."""
    if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
        raise InputError(
            "video_id must be the id create_video returned (letters, digits, '-' and '_', "
            "like G-abc123); call list_videos to find your jobs."
        )
    return video_id


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
