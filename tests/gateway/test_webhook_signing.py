"""Webhook signature checks (phaseo-api.md §11): both header prefixes, freshness, identity."""

from __future__ import annotations

import json

import pytest

from phaseo_mcp.gateway.webhook_signing import Refused, sign, verify

SECRET = "whsec_unit"
NOW = 1_790_000_000


def _signed(payload: dict[str, object], prefix: str = "x-phaseo-", at: int = NOW) -> tuple[
    dict[str, str], bytes
]:  # fmt: skip
    body = json.dumps(payload).encode()
    return {f"{prefix}timestamp": str(at), f"{prefix}signature": sign(SECRET, at, body)}, body


COMPLETED = {"id": "evt_video_G-1_video.completed", "type": "video.completed",
             "data": {"id": "G-1", "status": "completed"}}  # fmt: skip


@pytest.mark.parametrize("prefix", ["x-phaseo-", "x-ai-stats-"])
def test_either_prefix_verifies(prefix: str) -> None:
    """The R5+ and the older header prefix both carry a valid signature."""
    headers, body = _signed(COMPLETED, prefix)
    event = verify(headers, body, SECRET, now=NOW + 10)
    assert (event.event_id, event.video_id, event.terminal) == (
        "evt_video_G-1_video.completed",
        "G-1",
        True,
    )


@pytest.mark.parametrize("skew", [301, -301])
def test_a_timestamp_over_5_minutes_away_is_refused(skew: int) -> None:
    """Stale (or replayed later) and far-future deliveries get 401."""
    headers, body = _signed(COMPLETED)
    with pytest.raises(Refused) as caught:
        verify(headers, body, SECRET, now=NOW + skew)
    assert caught.value.status == 401


def test_a_changed_body_or_another_secret_is_refused() -> None:
    """The signature covers the raw body and needs our secret."""
    headers, body = _signed(COMPLETED)
    for raw, secret in ((body + b" ", SECRET), (body, "whsec_other")):
        with pytest.raises(Refused, match="wrong signature"):
            verify(headers, raw, secret, now=NOW)


def test_without_an_event_id_the_video_id_and_key_identify_the_delivery() -> None:
    """An older gateway's delivery is known by video id + delivery key (or event type)."""
    progress = {"type": "video.progress", "delivery": {"key": "video.progress:50"},
                "data": {"id": "G-2", "status": "processing"}}  # fmt: skip
    headers, body = _signed(progress)
    event = verify(headers, body, SECRET, now=NOW)
    assert event.event_id == "G-2:video.progress:50" and not event.terminal
