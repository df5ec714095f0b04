"""The normalised job: the one view of a video job the rest of the server uses.

``Job.from_api`` reads a tolerant :class:`~phaseo_mcp.gateway.responses.VideoObject`; the
gateway's ``id`` becomes ``video_id`` here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

from phaseo_mcp.gateway.responses import Asset, VideoObject

VideoStatus = Literal[
    "queued", "processing", "completed", "failed", "cancelled", "expired", "unknown"
]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "expired"})
JobFailureKind = Literal[
    "content_refused", "provider_error", "insufficient_funds", "expired", "cancelled", "other"
]
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


def normalize_status(raw: str | None) -> VideoStatus:
    """Both vocabularies (and common aliases) onto one; anything else is ``unknown``."""
    if not raw:
        return "unknown"
    return _STATUS_ALIASES.get(raw.strip().lower(), "unknown")


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
