"""--multi-user: each request's X-Phaseo-Api-Key is that call's key; users never meet.

User B cannot see, wait on, download or be blocked by user A's job; a call without the
header is refused with a clear error; the operator's key is never sent upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from httpkit import SUNRISE, create, mcp_client, serve_phaseo, wait_done
from mcp import Client

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import TEST_KEY, data, text

pytestmark = pytest.mark.anyio
OPERATOR_KEY = TEST_KEY
KEY_A = "phaseo_v1_sk_usera_aaaaaaaaaaaaaaaaaaaaaaaa01"
KEY_B = "phaseo_v1_sk_userb_bbbbbbbbbbbbbbbbbbbbbbbb02"
HEADER = "X-Phaseo-Api-Key"


@asynccontextmanager
async def user(url: str, key: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    headers = {HEADER: key} if key is not None else {}
    async with mcp_client(url, mode, headers=headers) as client:
        yield client


def keys_sent(emulator: EmulatorHandle) -> set[str]:
    """Every bearer key the emulator received."""
    sent: set[str] = set()
    for request in (r for route in emulator.requests.values() for r in route):
        auth = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        sent.add(auth.removeprefix("Bearer ").strip())
    return sent


def ids_of(listing: dict[str, Any]) -> set[str]:
    return {v["video_id"] for v in listing["videos"] if v["video_id"]}


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_user_b_cannot_see_wait_on_download_or_be_blocked_by_user_a(
    settings: Settings, emulator: EmulatorHandle, mode: str, stateless: bool
) -> None:
    """Two users with their own keys on one server share nothing but the process."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    async with serve_phaseo(settings, multi_user=True, stateless=stateless) as served:
        with anyio.fail_after(60):
            async with user(served.url, KEY_A, mode) as a, user(served.url, KEY_B, mode) as b:
                job_a = await create(a)
                a_id = job_a["video_id"]

                listing_b = data(await b.call_tool("list_videos", {}))
                status_b = await b.call_tool("get_video_status", {"video_id": a_id})
                wait_b = await b.call_tool(
                    "wait_for_video", {"video_id": a_id, "timeout_seconds": 5}
                )
                download_b = await b.call_tool("download_video", {"video_id": a_id})
                delete_b = await b.call_tool("delete_video", {"video_id": a_id})
                # The same request from B is B's own first job, not A's duplicate.
                job_b = await b.call_tool("create_video", dict(SUNRISE))
                # A's second identical request is refused with A's job.
                again_a = await a.call_tool("create_video", dict(SUNRISE))
                listing_a = data(await a.call_tool("list_videos", {}))
                listing_b2 = data(await b.call_tool("list_videos", {}))

    assert a_id not in ids_of(listing_b)
    for refused in (status_b, wait_b, download_b, delete_b):
        assert refused.is_error, text(refused)
        assert data(refused)["failure_kind"] == "not_found", text(refused)
    assert not job_b.is_error, text(job_b)
    b_id = data(job_b)["video_id"]
    assert b_id != a_id
    assert again_a.is_error and data(again_a)["failure_kind"] == "duplicate"
    assert data(again_a)["video_id"] == a_id
    assert ids_of(listing_a) == {a_id}
    assert ids_of(listing_b2) == {b_id}
    assert emulator.counters["create"] == 2
    assert keys_sent(emulator) == {KEY_A, KEY_B}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_call_without_the_header_is_refused_and_never_uses_the_operator_key(
    settings: Settings, emulator: EmulatorHandle, mode: str
) -> None:
    """No X-Phaseo-Api-Key: a clear isError naming the header; nothing is sent upstream."""
    assert settings.api_key_value() == OPERATOR_KEY
    async with serve_phaseo(settings, multi_user=True) as served:
        with anyio.fail_after(60):
            async with user(served.url, None, mode) as anonymous:
                results = [
                    await anonymous.call_tool("create_video", dict(SUNRISE)),
                    await anonymous.call_tool("list_video_models", {}),
                    await anonymous.call_tool("list_videos", {}),
                    await anonymous.call_tool("get_video_status", {"video_id": "video_x1"}),
                ]
            async with user(served.url, "", mode) as blank:
                results.append(await blank.call_tool("list_videos", {}))
    for result in results:
        assert result.is_error
        assert HEADER in text(result) and "multi-user" in text(result)
        assert data(result)["failure_kind"] == "config"
        assert OPERATOR_KEY not in text(result)
    assert not any(emulator.requests.values())
    assert sum(emulator.counters.values()) == 0


async def test_each_user_completes_a_full_workflow_with_their_own_key(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """A and B both create, wait and download concurrently; each request uses its caller's key."""
    got: dict[str, dict[str, Any]] = {}
    async with serve_phaseo(settings, multi_user=True, stateless=True) as served:

        async def run(name: str, key: str) -> None:
            async with user(served.url, key) as client:
                job = await create(client, prompt=f"{name}: a lighthouse in fog")
                await wait_done(client, job["video_id"])
                saved = await client.call_tool("download_video", {"video_id": job["video_id"]})
                assert not saved.is_error, text(saved)
                got[name] = {"job": job, "saved": data(saved)}

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, "a", KEY_A)
                tg.start_soon(run, "b", KEY_B)
    assert got["a"]["saved"]["mode"] == "url" and got["b"]["saved"]["mode"] == "url"
    assert keys_sent(emulator) == {KEY_A, KEY_B}
    assert OPERATOR_KEY not in keys_sent(emulator)
