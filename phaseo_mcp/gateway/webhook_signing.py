"""Verify one webhook delivery from the gateway (phaseo-api.md §11) and say what it means.

The signature is ``hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))`` in the
``<prefix>signature`` header, with the Unix-seconds ``<prefix>timestamp`` beside it; the
prefix is ``x-phaseo-`` (R5+) or ``x-ai-stats-`` (up to R4). The raw body is checked before
it is parsed. A delivery's identity is its event id (the ``<prefix>event-id`` header or the
payload's ``id``); an older gateway sends none, so the video id with the delivery key (or the
event type) stands in: the key alone is the same for every job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIXES = ("x-phaseo-", "x-ai-stats-")
MAX_SKEW_SECONDS = 300.0
MAX_BODY_BYTES = 1024 * 1024
TERMINAL_EVENT_PHASES = frozenset({"completed", "failed", "cancelled", "expired"})


class Refused(Exception):
    """A delivery that must not be acted on: ``status`` is the HTTP answer; ``reason`` is
    safe to log (never the body, never a header's value)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    video_id: str
    event_type: str  # e.g. video.completed
    status: str | None  # the job snapshot's status, a hint only

    @property
    def terminal(self) -> bool:
        """Whether the event says the job has ended (to be confirmed with the gateway)."""
        phase = self.event_type.rsplit(".", 1)[-1]
        return phase in TERMINAL_EVENT_PHASES or self.status in TERMINAL_EVENT_PHASES


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    msg = str(timestamp).encode() + b"." + raw_body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(prefix, value) of the first prefix under which ``name`` was sent."""
    for prefix in PREFIXES:
        value = headers.get(prefix + name)
        if value is not None:
            return prefix, value.strip()
    return None


def verify(headers: Mapping[str, str], raw_body: bytes, secret: str, *, now: float) -> WebhookEvent:
    """The event a signed, fresh delivery carries; :class:`Refused` (401/400) otherwise.

    ``headers`` must be case-insensitive (Starlette's are)."""
    stamp = _header(headers, "timestamp")
    signature = _header(headers, "signature")
    if stamp is None or signature is None:
        raise Refused(401, "unsigned delivery (no timestamp or signature header)")
    prefix, raw_stamp = stamp
    try:
        timestamp = int(raw_stamp)
    except ValueError:
        raise Refused(401, "the timestamp header is not Unix seconds") from None
    expected = sign(secret, timestamp, raw_body)
    if not hmac.compare_digest(expected.encode(), signature[1].lower().encode()):
        raise Refused(401, "wrong signature")
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise Refused(401, "timestamp more than 5 minutes from now (stale or replayed)")
    try:
        payload: Any = json.loads(raw_body)
    except ValueError:
        raise Refused(400, "the signed body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise Refused(400, "the signed body has no job snapshot (data)")
    data: dict[str, Any] = payload["data"]
    video_id = data.get("id")
    event_type = payload.get("type") or headers.get(prefix + "event-type")
    if not isinstance(video_id, str) or not video_id or not isinstance(event_type, str):
        raise Refused(400, "the signed body names no video id or event type")
    event_id = headers.get(prefix + "event-id") or payload.get("id")
    if not isinstance(event_id, str) or not event_id:
        delivery = payload.get("delivery")
        key = delivery.get("key") if isinstance(delivery, dict) else None
        key = key or headers.get(prefix + "delivery-key") or event_type
        event_id = f"{video_id}:{key}"
    status = data.get("status")
    return WebhookEvent(
        event_id=event_id[:300],
        video_id=video_id[:200],
        event_type=event_type[:100],
        status=status if isinstance(status, str) else None,
    )
