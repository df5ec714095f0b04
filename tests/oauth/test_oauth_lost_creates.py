"""A create whose answer was lost, under ``--auth oauth`` (one team key, the gateway's listing
holds everyone's jobs): list_videos matches it to the one job no one's journal rows hold, for
the person who sent it only, and never when another person's lost create could be that job;
a job that is not the caller's is never named to them."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from httpkit import SUNRISE, mcp_client
from oauthkit import Idp, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import data, text

pytestmark = pytest.mark.anyio


async def _lose_create(url: str, token: str) -> None:
    async with mcp_client(url, token=token) as client:
        lost = await client.call_tool("create_video", SUNRISE)
    assert lost.is_error and data(lost)["failure_kind"] == "outcome_unknown", text(lost)


async def _listing(url: str, token: str) -> tuple[list[dict[str, Any]], str]:
    async with mcp_client(url, token=token) as client:
        result = await client.call_tool("list_videos", {})
    assert not result.is_error, text(result)
    return data(result)["videos"], text(result)


async def test_a_lost_create_is_matched_for_its_sender_and_shown_to_no_one_else(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """Alice's create made a job but its answer was dropped: her list_videos links it as a
    probable match and she can then read it; Bob's listing never shows or names it, and his
    status call gets not_found without a gateway request."""
    async with serve_oauth(settings, idp) as served:
        alice, bob = (idp.mint(aud=served.url, sub=who) for who in ("alice", "bob"))
        with anyio.fail_after(90):
            emulator.faults.add("create", "create_then_drop")
            await _lose_create(served.url, alice)
            (made,) = emulator.jobs
            bobs, bobs_text = await _listing(served.url, bob)
            alices, _ = await _listing(served.url, alice)
            async with mcp_client(served.url, token=alice) as client:
                status = await client.call_tool("get_video_status", {"video_id": made})
            reads = emulator.counters["status"]
            async with mcp_client(served.url, token=bob) as client:
                refused = await client.call_tool("get_video_status", {"video_id": made})
    assert bobs == [] and made not in bobs_text
    (row,) = alices
    assert row["video_id"] == made and row["probable_match"], row
    assert "Probable match" in row["note"]
    assert not status.is_error and data(status)["video_id"] == made
    assert refused.is_error and data(refused)["failure_kind"] == "not_found"
    assert emulator.counters["status"] == reads  # Bob's id was never looked up


async def test_a_job_two_peoples_lost_creates_could_be_goes_to_neither(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """Bob's identical create was lost before the gateway made anything, Alice's after: the
    one job matches both lost creates, so it is linked to neither and named to neither."""
    async with serve_oauth(settings, idp) as served:
        alice, bob = (idp.mint(aud=served.url, sub=who) for who in ("alice", "bob"))
        with anyio.fail_after(90):
            emulator.faults.add("create", "drop")
            await _lose_create(served.url, bob)
            emulator.faults.add("create", "create_then_drop")
            await _lose_create(served.url, alice)
            (made,) = emulator.jobs
            listings = [await _listing(served.url, who) for who in (alice, bob)]
    for videos, words in listings:
        (intent,) = videos
        assert intent["video_id"] is None and intent["outcome_unknown"], intent
        assert not intent["candidates"] and made not in words


async def test_another_persons_recorded_job_is_never_matched_to_a_lost_create(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """Bob's identical create was answered and recorded; Alice's was lost before the gateway
    made anything. Bob's job matches Alice's lost create in every field, yet it is his: her
    listing neither links nor names it."""
    async with serve_oauth(settings, idp) as served:
        alice, bob = (idp.mint(aud=served.url, sub=who) for who in ("alice", "bob"))
        with anyio.fail_after(90):
            async with mcp_client(served.url, token=bob) as client:
                made = data(await client.call_tool("create_video", SUNRISE))["video_id"]
            emulator.faults.add("create", "drop")
            await _lose_create(served.url, alice)
            videos, words = await _listing(served.url, alice)
    (intent,) = videos
    assert intent["video_id"] is None and not intent["candidates"], intent
    assert made not in words
