"""Jobs, keys, request counters and the controllable clock of one emulator run."""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from phaseo_mcp.emulator.config import EmulatorConfig, JobPlan, Timestamps, Vocabulary

Phase = Literal["queued", "processing", "completed", "failed", "expired", "cancelled"]
TERMINAL_PHASES: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})
KEY_PATTERN = re.compile(r"^(?:aistats|phaseo)_v1_sk_([A-Za-z0-9]+)_([A-Za-z0-9_-]{4,})$")
ROUTE_NAMES = (
    "create",
    "status",
    "content",
    "signed_content",
    "download_url",
    "list",
    "models",
    "delete",
    "cancel",
)
TERMINAL_PHASE_OF: dict[str, Phase] = {
    "completed": "completed",
    "provider_error": "failed",
    "moderation": "failed",
    "insufficient_funds": "failed",
    "unexplained": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}
QUEUE_FRACTION = 0.15  # share of a job's time spent queued before processing starts
STUCK_PROGRESS = 50


class Clock:
    """Emulated unix time: real time times ``time_scale`` plus explicit advances."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._base = time.time()
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return self._base + (time.monotonic() - self._mono0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> float:
        """Move emulated time forward by ``seconds``; returns the new now()."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def real_delay(self, emulated_seconds: float) -> float:
        """Real seconds that ``emulated_seconds`` take; inf when the clock is frozen."""
        if self.time_scale <= 0:
            return float("inf")
        return emulated_seconds / self.time_scale


class Counters(Counter[str]):
    """Requests per route name; a missing route counts 0."""

    def reset(self) -> None:
        self.clear()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON, or None


@dataclass
class WebhookSetup:
    url: str | None  # the R2 shape's url, or the endpoint's url
    secret: str | None
    events: list[str]  # normalised: job.<phase> / video.<phase>
    endpoint_id: str | None = None
    deliver_to: str | None = None  # where deliveries really go (loopback only)


@dataclass
class Job:
    id: str
    key: str
    model: str
    provider: str
    created_at: float
    plan: JobPlan
    vocabulary: Vocabulary
    timestamps: Timestamps
    job_seconds: float
    request_id: str
    body: dict[str, Any]
    sample_count: int = 1
    output_access: str = "both"
    duration: float = 8.0
    size: str = "1280x720"
    audio: bool = True
    price_usd: float = 0.0
    native_video_id: str = ""
    webhook: WebhookSetup | None = None
    deleted_at: float | None = None
    webhook_attempts: list[dict[str, Any]] = field(default_factory=list)
    webhook_sent_keys: set[str] = field(default_factory=set)
    webhook_delivered_keys: set[str] = field(default_factory=set)
    last_seen_status: str | None = None
    clock: Clock | None = field(default=None, repr=False, compare=False)

    @property
    def seconds(self) -> float:
        return self.plan.seconds if self.plan.seconds is not None else self.job_seconds

    @property
    def started_at(self) -> float:
        return self.created_at + self.seconds * QUEUE_FRACTION

    @property
    def ends_at(self) -> float:
        return self.created_at + self.seconds

    def phase(self, now: float) -> Phase:
        if now < self.started_at:
            return "queued"
        if now < self.ends_at or self.plan.outcome == "stuck":
            return "processing"
        return TERMINAL_PHASE_OF[self.plan.outcome]

    def progress(self, now: float) -> int:
        phase = self.phase(now)
        if phase == "completed":
            return 100
        if phase == "queued" or self.seconds <= 0:
            return 0
        if phase == "processing":
            share = (now - self.created_at) / self.seconds
            value = max(1, min(99, int(share * 100)))
            return min(value, STUCK_PROGRESS) if self.plan.outcome == "stuck" else value
        return min(99, int(100 * (1 - QUEUE_FRACTION)))

    def raw_status(self, now: float) -> str:
        """The status string as the gateway of this job's vocabulary reports it."""
        if self.plan.status_override is not None:
            return self.plan.status_override
        phase = self.phase(now)
        if self.vocabulary == "r2":
            return {"queued": "pending", "processing": "in_progress", "expired": "failed"}.get(
                phase, phase
            )
        if phase == "processing" and self.provider == "openai":
            return "in_progress"  # the R6 code's OpenAI-compatible status, §4.1
        return phase

    @property
    def status(self) -> str:
        """The status now (for assertions); uses the wall clock of the owning run."""
        return self.raw_status(self._clock_now())

    def is_terminal(self, now: float) -> bool:
        return self.phase(now) in TERMINAL_PHASES

    def _clock_now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()


def new_video_id() -> str:
    return "G-" + secrets.token_hex(12)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(10)


class EmulatorState:
    """Everything one emulator run remembers; the HTTP layer and the handle share it."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = Clock(config.time_scale)
        self.counters = Counters()
        self.received: defaultdict[str, list[Any]] = defaultdict(list)
        self.requests: defaultdict[str, list[RecordedRequest]] = defaultdict(list)
        self.jobs: dict[str, Job] = {}
        self.next_plans: deque[JobPlan] = deque()
        self.base_url = ""  # set once the server is bound: http://host:port/v1

    def key_allowed(self, key: str) -> bool:
        if self.config.allowed_keys is not None:
            return key in self.config.allowed_keys
        return KEY_PATTERN.match(key) is not None

    def take_plan(self) -> JobPlan:
        return self.next_plans.popleft() if self.next_plans else JobPlan()

    def add_job(self, job: Job) -> Job:
        job.clock = self.clock
        self.jobs[job.id] = job
        return job

    def owned_job(self, video_id: str, key: str) -> Job | None:
        job = self.jobs.get(video_id)
        if job is None or job.key != key:
            return None
        return job

    def reset(self) -> None:
        self.counters.reset()
        self.received.clear()
        self.requests.clear()
        self.next_plans.clear()
