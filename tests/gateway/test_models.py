"""Tolerant in what we accept, strict in what we send."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from phaseo_mcp.gateway.job import Job, normalize_status
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.gateway.responses import VideoObject


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pending", "queued"),
        ("queued", "queued"),
        ("in_progress", "processing"),
        ("PROCESSING", "processing"),
        ("running", "processing"),
        ("completed", "completed"),
        ("succeeded", "completed"),
        ("failed", "failed"),
        ("error", "failed"),
        ("canceled", "cancelled"),
        ("expired", "expired"),
        ("weird_state", "unknown"),
        (None, "unknown"),
    ],
)
def test_both_vocabularies_and_aliases_normalise(raw: str | None, expected: str) -> None:
    """Every status word of both API vocabularies, and their aliases, maps to one status."""
    assert normalize_status(raw) == expected


def test_job_accepts_every_documented_variation() -> None:
    """int or ISO timestamps, seconds as string, error as object, extra fields."""
    obj = VideoObject.model_validate(
        {
            "id": "G-1",
            "status": "failed",
            "created_at": "2026-04-01T10:00:00Z",
            "completed_at": 1775037600,
            "seconds": "8",
            "error": {"code": "content_policy_violation", "message": "refused by safety filter"},
            "usage": {"cost": "0.40"},
            "brand_new_field": {"x": 1},
            "progress": 100,
        }
    )
    job = Job.from_api(obj)
    assert job.video_id == "G-1"
    assert job.created_at == "2026-04-01T10:00:00Z"
    assert job.completed_at is not None and job.completed_at.startswith("2026-04-01")
    assert job.duration_seconds == 8.0
    assert job.failure_kind == "content_refused"
    assert job.failure_message and "safety" in job.failure_message
    assert job.cost_usd == pytest.approx(0.40)


def test_cost_falls_back_to_the_billing_summary() -> None:
    """A job without a top-level cost takes it from the billing summary."""
    obj = VideoObject.model_validate(
        {"id": "G-2", "status": "completed", "billing": {"settled_user_cost": "1.25"}}
    )
    assert Job.from_api(obj).cost_usd == pytest.approx(1.25)


def test_completed_job_without_outputs_still_has_output_zero() -> None:
    """A completed job with only a top-level asset still has output 0 with its size and hash."""
    obj = VideoObject.model_validate(
        {
            "id": "G-3",
            "status": "completed",
            "content_url": "https://x/v1/videos/G-3/content",
            "asset": {"bytes": 10, "sha256": "ab", "mime_type": "video/mp4"},
        }
    )
    job = Job.from_api(obj)
    assert [o.index for o in job.outputs] == [0]
    assert job.outputs[0].bytes == 10 and job.outputs[0].sha256 == "ab"


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "prompt": "p", "size": "1280x720", "resolution": "720p"},
        {"model": "m", "prompt": "p", "unknown": 1},
        {"model": "m", "prompt": "p", "provider_params": {"deep": [{"Sample-Count": 2}]}},
        {"model": "m", "prompt": "p", "webhook": {"url": "http://example.com/hook"}},
    ],
)
def test_request_is_strict(body: dict) -> None:
    """A create request with an unknown, missing or ill-typed field is refused by the model."""
    with pytest.raises(ValidationError):
        CreateVideoRequest.model_validate(body)


def test_request_body_carries_only_set_fields() -> None:
    """The create body sent upstream holds only the fields the caller set."""
    req = CreateVideoRequest.model_validate(
        {"model": "m", "prompt": "p", "webhook": {"url": "http://localhost:9/h"}}
    )
    assert req.body() == {"model": "m", "prompt": "p", "webhook": {"url": "http://localhost:9/h"}}
