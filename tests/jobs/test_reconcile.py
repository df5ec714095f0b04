"""The comparison table that links an outcome-unknown create to a gateway job: each field in
every shape the gateway returns it, missing fields neither match nor mismatch, and only a
one-to-one match is linked."""

from __future__ import annotations

from typing import Any

import pytest

from phaseo_mcp.gateway.responses import VideoObject
from phaseo_mcp.jobs.reconcile import (
    MATCH_AFTER_SECONDS,
    MATCH_BEFORE_SECONDS,
    Unresolved,
    compare,
    reconcile,
)

SENT = 1_800_000_000.0
REQUEST = {"model": "openai/sora-2", "prompt": "a fox", "duration": 8, "size": "1280x720"}


def job(video_id: str = "G-a", **fields: Any) -> VideoObject:
    values = {"id": video_id, "model": "openai/sora-2", "created_at": int(SENT) + 2, **fields}
    return VideoObject.model_validate(values)


@pytest.mark.parametrize(
    ("fields", "candidate"),
    [
        ({"seconds": 8}, True),
        ({"seconds": "8"}, True),  # R6 returns it as a string for OpenAI jobs
        ({"seconds": 4}, False),
        ({"size": "1280x720"}, True),
        ({"size": "720x1280"}, False),
        ({"audio": False, "provider": "openai"}, True),  # not asked for: not comparable
        ({"created_at": "2027-01-15T08:00:02Z"}, True),  # ISO string (SENT + 2 s)
        ({"created_at": int(SENT) + MATCH_AFTER_SECONDS + 1}, False),
        ({"created_at": int(SENT) - MATCH_BEFORE_SECONDS - 1}, False),
        ({"created_at": None}, False),  # no time: cannot be placed in the window
        ({"model": "openai/sora-2-pro"}, False),
        ({"model": None}, False),  # the model is required
    ],
)
def test_each_field_of_the_table(fields: dict[str, Any], candidate: bool) -> None:
    """A job is a candidate only when every comparable field agrees and the time fits."""
    assert compare(REQUEST, SENT, job(**fields)).candidate is candidate


def test_fields_the_request_did_not_set_or_the_gateway_did_not_return_are_not_compared() -> None:
    """No size, audio or provider in the listing: the match rests on model, duration, time."""
    found = compare(REQUEST, SENT, job(seconds=8))
    assert found.candidate
    assert found.matched[:2] == ("model", "duration") and "size" not in found.matched
    assert "creation time" in found.reason()


@pytest.mark.parametrize(
    ("request_fields", "size", "candidate"),
    [
        ({"resolution": "720p"}, "1280x720", True),
        ({"resolution": "720p", "aspect_ratio": "9:16"}, "720x1280", True),
        ({"resolution": "720p", "aspect_ratio": "9:16"}, "1280x720", False),
        ({"resolution": "1080p"}, "1280x720", False),
    ],
)
def test_resolution_is_compared_with_the_size_the_gateway_reports(
    request_fields: dict[str, Any], size: str, candidate: bool
) -> None:
    """resolution (and aspect ratio) against the WIDTHxHEIGHT the job reports."""
    request = {"model": "openai/sora-2", "prompt": "a fox", **request_fields}
    assert compare(request, SENT, job(size=size)).candidate is candidate


def test_audio_and_provider_routing_are_compared_when_both_sides_have_them() -> None:
    """generate_audio against audio; provider.only / ignore against the provider used."""
    request = {**REQUEST, "generate_audio": True, "provider": {"only": ["openai"]}}
    assert compare(request, SENT, job(audio=True, provider="openai")).candidate
    assert not compare(request, SENT, job(audio=False, provider="openai")).candidate
    assert not compare(request, SENT, job(audio=True, provider="azure")).candidate
    ignoring = {**REQUEST, "provider": {"ignore": ["azure"]}}
    assert not compare(ignoring, SENT, job(provider="azure")).candidate


def test_only_a_one_to_one_match_is_linked() -> None:
    """One row, one job: linked. Two jobs for one row, or one job for two rows: candidates
    only."""
    row = Unresolved(1, REQUEST, SENT)
    twin = Unresolved(2, REQUEST, SENT + 1)
    one = reconcile([row], [job("G-a", seconds=8), job("G-b", seconds=4)])
    assert one.links == {1: ("G-a", one.links[1][1])} and "duration" in one.links[1][1]
    several = reconcile([row], [job("G-a"), job("G-b")])
    assert several.links == {} and several.candidates == {1: ["G-a", "G-b"]}
    shared = reconcile([row, twin], [job("G-a")])
    assert shared.links == {} and shared.candidates == {1: ["G-a"], 2: ["G-a"]}
    none = reconcile([row], [job("G-a", seconds=12)])
    assert none.links == {} and none.candidates == {}
