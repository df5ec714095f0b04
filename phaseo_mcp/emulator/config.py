"""Configuration of one emulator run and of single jobs (``JobPlan``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal, get_args

Vocabulary = Literal["r2", "r3"]
Timestamps = Literal["int", "iso"]
# How a job ends (phaseo-api.md §4.1 terminal states; payloads in render.py):
# completed; failed with a provider error, a moderation refusal, insufficient funds at
# settlement, or no diagnostics at all (``error: null``, "unexplained"); expired; cancelled
# (by the provider or the dashboard: the API's own cancel route answers 501, §10); stuck
# (never finishes).
Outcome = Literal[
    "completed",
    "provider_error",
    "moderation",
    "insufficient_funds",
    "unexplained",
    "expired",
    "cancelled",
    "stuck",
]


@dataclass(frozen=True)
class WebhookEndpoint:
    """A dashboard-managed webhook endpoint, referenced by id in the R6 ``{endpoint_id}`` shape."""

    url: str
    secret: str


@dataclass
class EmulatorConfig:
    """How an emulator run behaves. Every field has a default that mimics the gateway."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    allowed_keys: list[str] | None = None  # None = any key of the documented shapes
    job_seconds: float = 10.0  # emulated seconds from create to a terminal state
    poll_after_seconds: int = 2
    # Emulated time runs this many times faster than real time; 0 = frozen (clock.advance only).
    time_scale: float = 1.0
    vocabulary: Vocabulary = "r3"
    timestamps: Timestamps = "int"
    content_cap_bytes: int = 512 * 1024 * 1024
    webhook_endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    extra_fields: bool = True  # sprinkle unknown extra fields in answers
    # Error body format of phaseo-api.md §12.1: 1 (oldest), 2 (Feb 2026), 3 (Apr 2026 onward).
    error_format: Literal[1, 2, 3] = 3
    # Header prefix of webhook deliveries: "x-phaseo-" (R5+) or "x-ai-stats-" (R2–R4).
    webhook_header_prefix: str = "x-phaseo-"
    webhook_retry_delays: tuple[float, ...] = (60.0, 300.0, 900.0)  # emulated seconds, §11
    public_base_url: str | None = None  # override the URLs written into answers


@dataclass
class JobPlan:
    """How one job behaves. ``None`` fields fall back to the run's configuration."""

    outcome: Outcome = "completed"
    seconds: float | None = None  # emulated duration from create to the terminal state
    vocabulary: Vocabulary | None = None
    timestamps: Timestamps | None = None
    status_override: str | None = None  # report this raw status string instead
    wrong_sha256: bool = False  # the asset's advertised sha256 does not match its bytes
    asset_bytes: int | None = None  # synthetic asset of this size instead of the sample MP4
    # a real ffmpeg-made MP4 of the job's duration and size (videos.py); with asset_bytes,
    # at least that many bytes of real frames
    playable: bool = False
    codec: Literal["h264", "vp9", "av1"] = "h264"  # of a playable job: MP4, or WebM for the others
    progress: bool = True  # False: progress is never reported (0 / null, source "none")
    cost_usd: float | None = None  # None: priced from the catalogue
    seconds_as_string: bool = False  # OpenAI-style "seconds": "8"
    error_as_object: bool | None = None  # None: an object for openai jobs, a string otherwise

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> JobPlan:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown JobPlan fields: {sorted(unknown)}")
        outcome = data.get("outcome", "completed")
        if outcome not in get_args(Outcome):
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {get_args(Outcome)}")
        return cls(**data)  # type: ignore[arg-type]
