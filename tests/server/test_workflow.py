"""The four core tools end to end: real mcp client, real emulator over loopback HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.stopping import RunningCalls

from helpers import call, data, mp4_boxes, text, wait_terminal

pytestmark = pytest.mark.anyio
SUNRISE = {
    "model": "google/veo-3.1-lite",
    "prompt": "A cinematic sunrise over a mountain lake",
    "duration": 8,
    "aspect_ratio": "16:9",
}


async def _create(client: Client, **overrides: object) -> dict:
    result = await call(client, "create_video", {**SUNRISE, **overrides})
    assert not result.is_error, text(result)
    return data(result)


async def test_create_wait_download_saves_a_playable_mp4(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """create → wait → download leaves a verified MP4 named after the job."""
    job = await _create(client)
    assert job["status"] in ("queued", "processing")
    assert job["next_call"] == {
        "tool": "wait_for_video",
        "arguments": {"video_id": job["video_id"]},
    }
    assert job["estimated_cost_usd"] is not None and job["estimated_cost_usd"] > 0
    done = await wait_terminal(client, job["video_id"])
    assert done["status"] == "completed" and done["terminal"] is True
    assert done["next_call"]["tool"] == "download_video"
    saved = await call(client, "download_video", {"video_id": job["video_id"]})
    assert not saved.is_error, text(saved)
    files = data(saved)["files"]
    path = Path(files[0]["path"])
    assert path == output_dir / f"{job['video_id']}.mp4"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == files[0]["sha256"]
    assert {"ftyp", "moov", "mdat"} <= set(mp4_boxes(path))
    links = [b for b in saved.content if b.type == "resource_link"]
    assert links and str(links[0].uri) == path.as_uri()
    assert emulator.counters["create"] == 1
    assert not list(output_dir.glob(".*part"))


async def test_second_download_of_same_file_transfers_nothing(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An identical file already on disk is recognised; no bytes move."""
    job = await _create(client)
    await wait_terminal(client, job["video_id"])
    first = data(await call(client, "download_video", {"video_id": job["video_id"]}))
    before = emulator.counters["content"]
    again = data(await call(client, "download_video", {"video_id": job["video_id"]}))
    assert again["files"][0]["transferred"] is False
    assert again["files"][0]["sha256"] == first["files"][0]["sha256"]
    assert emulator.counters["content"] == before


@pytest.mark.parametrize("vocabulary", ["r2", "r3"])
async def test_both_status_vocabularies_normalise(
    client: Client, emulator: EmulatorHandle, vocabulary: str
) -> None:
    """pending/in_progress (April) and queued/processing (May) map onto one enum."""
    emulator.plan_next_job(JobPlan(vocabulary=vocabulary, seconds=1000))
    job = await _create(client)
    emulator.clock.advance(500)
    status = data(await call(client, "get_video_status", {"video_id": job["video_id"]}))
    assert status["status"] == "processing"
    raw = {"r2": "in_progress", "r3": "processing"}[vocabulary]
    assert status["gateway_status"] == raw
    emulator.clock.advance(1000)
    status = data(await call(client, "get_video_status", {"video_id": job["video_id"]}))
    assert status["status"] == "completed" and status["terminal"]


async def test_unknown_status_is_reported_not_waited_on(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An unrecognised status returns at once as 'unknown' with the raw value."""
    emulator.plan_next_job(JobPlan(status_override="weird_state", seconds=1e6))
    job = await _create(client)
    result = data(await call(client, "wait_for_video", {"video_id": job["video_id"]}))
    assert result["status"] == "unknown"
    assert result["gateway_status"] == "weird_state"
    assert result["terminal"] is False
    assert result["next_call"]["tool"] == "get_video_status"
    assert emulator.counters["status"] == 1


async def test_list_videos_filters_on_unknown_status_locally(
    client: Client, emulator: EmulatorHandle
) -> None:
    """'unknown' is our own status: the gateway is not asked to filter on it, and the job
    whose status could not be read is listed from the merged journal."""
    emulator.plan_next_job(JobPlan(status_override="weird_state", seconds=1e6))
    odd = await _create(client)
    await call(client, "get_video_status", {"video_id": odd["video_id"]})
    await _create(client, prompt="a normal one")
    listed = await call(client, "list_videos", {"status": ["unknown"]})
    assert not listed.is_error, text(listed)
    result = data(listed)
    assert result["gateway_reachable"] is True and result["note"] is None
    assert [v["video_id"] for v in result["videos"]] == [odd["video_id"]]
    assert emulator.counters["list"] == 1


async def test_get_video_status_makes_exactly_one_request(
    client: Client, emulator: EmulatorHandle
) -> None:
    """get_video_status never waits: one GET per call."""
    job = await _create(client)
    before = emulator.counters["status"]
    await call(client, "get_video_status", {"video_id": job["video_id"]})
    assert emulator.counters["status"] == before + 1


async def test_several_outputs_all_and_one(client: Client, output_dir: Path) -> None:
    """index=None saves every output under distinct names; index=1 saves just that one."""
    job = await _create(client, sample_count=2)
    done = await wait_terminal(client, job["video_id"])
    assert done["output_count"] == 2
    everything = data(await call(client, "download_video", {"video_id": job["video_id"]}))
    paths = [Path(f["path"]) for f in everything["files"]]
    assert [p.name for p in paths] == [f"{job['video_id']}.mp4", f"{job['video_id']}-1.mp4"]
    assert paths[0].read_bytes() != paths[1].read_bytes()
    one = data(
        await call(
            client,
            "download_video",
            {"video_id": job["video_id"], "index": 1, "filename": "second.mp4"},
        )
    )
    assert [f["index"] for f in one["files"]] == [1]
    assert Path(one["files"][0]["path"]) == output_dir / "second.mp4"
    assert (output_dir / "second.mp4").read_bytes() == paths[1].read_bytes()


async def test_url_mode_returns_signed_links_and_writes_nothing(
    client: Client, output_dir: Path, emulator: EmulatorHandle
) -> None:
    """mode=url mints signed links with an expiry; nothing lands on disk."""
    job = await _create(client)
    await wait_terminal(client, job["video_id"])
    result = data(
        await call(
            client,
            "download_video",
            {"video_id": job["video_id"], "mode": "url", "ttl_seconds": 120},
        )
    )
    assert result["mode"] == "url"
    link = result["files"][0]
    assert link["url"].startswith(emulator.base_url) and "download_sig" in link["url"]
    assert link["expires_at"] and link["path"] is None
    assert list(output_dir.iterdir()) == []
    import httpx

    async with httpx.AsyncClient() as http:  # the link works without our key
        response = await http.get(link["url"])
    assert response.status_code == 200 and response.content[4:8] == b"ftyp"


async def test_signed_url_only_job_downloads_in_file_mode(
    client: Client, emulator: EmulatorHandle
) -> None:
    """With output.access=signed_url the bytes come from the signed URL, without our key."""
    job = await _create(client, output={"access": "signed_url"})
    await wait_terminal(client, job["video_id"])
    saved = await call(client, "download_video", {"video_id": job["video_id"]})
    assert not saved.is_error, text(saved)
    assert emulator.counters["signed_content"] >= 1
    assert emulator.counters["content"] == 0
    assert mp4_boxes(Path(data(saved)["files"][0]["path"]))[0] == "ftyp"


async def test_progress_notifications_strictly_increase(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The client receives progress that only ever goes up, out of 100; the poll that ends the
    wait sends none (the result says completed), so it stops short of 100."""
    emulator.plan_next_job(JobPlan(seconds=60))
    job = await _create(client)
    seen: list[float] = []
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)
        messages.append(message or "")

    for _ in range(10):
        result = await call(
            client, "wait_for_video", {"video_id": job["video_id"]}, progress_callback=on_progress
        )
        if data(result)["terminal"]:
            break
    assert len(seen) >= 3
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    assert data(result)["status"] == "completed" and seen[-1] < 100
    assert not any("completed" in m for m in messages)  # the ending is in the result alone
    assert messages[-1].startswith(("processing", "queued"))


async def test_budget_expiry_is_a_normal_result_that_says_wait_again(
    client: Client, emulator: EmulatorHandle
) -> None:
    """When the wait budget ends first, the result is not an error and points to another wait."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    job = await _create(client)
    result = await call(
        client, "wait_for_video", {"video_id": job["video_id"], "timeout_seconds": 5}
    )
    assert not result.is_error
    body = data(result)
    assert body["budget_exhausted"] is True and body["terminal"] is False
    assert body["next_call"] == {
        "tool": "wait_for_video",
        "arguments": {"video_id": job["video_id"]},
    }
    # polls were paced by poll_after_seconds (2 s): at most 3 in a 5 s budget
    assert 1 <= emulator.counters["status"] <= 3


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for something the server does on its own task."""
    with anyio.fail_after(10):
        while not condition():
            await anyio.sleep(0.01)


async def test_client_cancellation_stops_polling(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Abandoning a wait stops the server's polling, and the session stays usable."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    clock, running = Clock(0), RunningCalls()  # the server's time moves only when we say
    async with Client(build_server(settings, clock=clock, running=running)) as client:
        job = await _create(client)
        args = {"video_id": job["video_id"], "timeout_seconds": 600}
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "wait_for_video", args)
            await _until(lambda: clock.sleepers > 0)
            clock.advance(60)  # past any pacing: the wait polls, then sleeps again
            await _until(lambda: emulator.counters["status"] >= 1 and clock.sleepers > 0)
            tg.cancel_scope.cancel()
        await _until(lambda: running.request_ids() == [])
        after_cancel = emulator.counters["status"]
        clock.advance(600)  # a live loop would have polled many times by now
        status = await call(client, "get_video_status", {"video_id": job["video_id"]})
    assert not status.is_error
    assert emulator.counters["status"] == after_cancel + 1  # only the status call's own GET
    assert clock.sleepers == 0


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        ("provider_error", "provider_error"),
        ("moderation", "content_refused"),
        ("expired", "expired"),
    ],
)
async def test_failed_jobs_report_their_kind(
    client: Client, emulator: EmulatorHandle, outcome: str, kind: str
) -> None:
    """A failed job ends the wait with a failure_kind and a reason, and no next call to retry."""
    emulator.plan_next_job(JobPlan(outcome=outcome))
    job = await _create(client)
    done = await wait_terminal(client, job["video_id"])
    assert done["status"] in ("failed", "expired")
    assert done["failure_kind"] == kind
    assert done["next_call"] is None
    assert done["failure_message"] or kind == "expired"
    download = await call(client, "download_video", {"video_id": job["video_id"]})
    assert download.is_error and emulator.counters["content"] == 0


async def test_insufficient_funds_on_create_is_a_clear_error(
    client: Client, emulator: EmulatorHandle
) -> None:
    """402 from the gateway becomes an insufficient_funds error, not a job."""
    emulator.faults.add(route="create", kind="http", status=402)
    result = await call(client, "create_video", SUNRISE)
    assert result.is_error
    assert data(result)["failure_kind"] == "insufficient_funds"
    assert "funds" in text(result)


async def test_existing_different_file_is_not_overwritten_without_consent(
    client: Client, output_dir: Path
) -> None:
    """A different file at the target is an error unless overwrite=true."""
    job = await _create(client)
    await wait_terminal(client, job["video_id"])
    target = output_dir / "mine.mp4"
    target.write_bytes(b"the user's own file")
    refused = await call(
        client, "download_video", {"video_id": job["video_id"], "filename": "mine.mp4"}
    )
    assert refused.is_error and "overwrite" in text(refused)
    assert target.read_bytes() == b"the user's own file"
    replaced = await call(
        client,
        "download_video",
        {"video_id": job["video_id"], "filename": "mine.mp4", "overwrite": True},
    )
    assert not replaced.is_error, text(replaced)
    assert target.read_bytes()[4:8] == b"ftyp"


async def test_download_before_completion_says_wait_first(
    client: Client, emulator: EmulatorHandle
) -> None:
    """Not completed yet: an error whose next_call is wait_for_video."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    job = await _create(client)
    result = await call(client, "download_video", {"video_id": job["video_id"]})
    assert result.is_error
    assert data(result)["next_call"]["tool"] == "wait_for_video"


async def test_unknown_argument_is_refused_and_named(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A misspelt argument is an error naming it (and the fix), with no upstream request."""
    result = await call(client, "create_video", {**SUNRISE, "resoluton": "1080p"})
    assert result.is_error
    assert "resoluton" in text(result) and "resolution" in text(result)
    assert emulator.counters.total() == 0
