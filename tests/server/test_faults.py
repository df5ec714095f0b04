"""Each emulator fault: the outcome the user sees and the exact number of upstream requests,
under the default retry policy (4 retries) with its waits zeroed."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.app import build_server

from helpers import SUNRISE, call, data, make_settings, text

pytestmark = pytest.mark.anyio


async def _job(
    client: Client, emulator: EmulatorHandle, *, done: bool = True, **plan: object
) -> str:
    if plan:
        emulator.plan_next_job(JobPlan(**plan))  # type: ignore[arg-type]
    created = await call(client, "create_video", SUNRISE)
    assert not created.is_error, text(created)
    video_id = str(data(created)["video_id"])
    if done:
        emulator.clock.advance(10_000)
    emulator.counters.reset()
    return video_id


# ---------------------------------------------------------------- reads retry


@pytest.mark.parametrize(
    ("status", "count", "ok", "requests"),
    [
        (503, 2, True, 3),
        (500, 1, True, 2),
        (502, 4, True, 5),
        (504, 5, False, 5),
        (429, 2, True, 3),
        (501, 1, False, 1),
        (404, 1, False, 1),
        (400, 1, False, 1),
    ],
)
async def test_status_read_retries_only_what_is_retryable(
    client: Client, emulator: EmulatorHandle, status: int, count: int, ok: bool, requests: int
) -> None:
    """Status reads retry retryable statuses only, with the expected number of requests."""
    video_id = await _job(client, emulator)
    emulator.faults.add(route="status", kind="http", status=status, count=count)
    result = await call(client, "get_video_status", {"video_id": video_id})
    assert result.is_error is (not ok), text(result)
    assert emulator.counters["status"] == requests


async def test_retry_after_http_date_is_parsed_and_retried(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A 429 whose Retry-After is an HTTP date is waited out and retried once."""
    video_id = await _job(client, emulator)
    emulator.faults.add(route="status", kind="http", status=429, retry_after="date", count=1)
    result = await call(client, "get_video_status", {"video_id": video_id})
    assert not result.is_error and emulator.counters["status"] == 2


async def test_501_says_the_video_api_is_disabled(client: Client, emulator: EmulatorHandle) -> None:
    """A 501 says the video API is not enabled, as unavailable, without retrying."""
    emulator.faults.add(route="models", kind="http", status=501)
    result = await call(client, "list_video_models", {})
    assert result.is_error and "not enabled" in text(result)
    assert data(result)["failure_kind"] == "unavailable"
    assert emulator.counters["models"] == 1


async def test_dropped_status_connection_is_retried(
    client: Client, emulator: EmulatorHandle
) -> None:
    """Dropped status connections are retried until an answer comes."""
    video_id = await _job(client, emulator)
    emulator.faults.add(route="status", kind="drop", count=2)
    result = await call(client, "get_video_status", {"video_id": video_id})
    assert not result.is_error, text(result)
    assert emulator.counters["status"] == 3


async def test_models_5xx_burst_is_absorbed(client: Client, emulator: EmulatorHandle) -> None:
    """A short burst of 503s on the catalogue is retried away."""
    emulator.faults.add(route="models", kind="http", status=503, count=2)
    result = await call(client, "list_video_models", {})
    assert not result.is_error and emulator.counters["models"] == 3


# ---------------------------------------------------------------- create is never retried blindly


async def test_create_5xx_is_reported_not_retried_and_not_a_duplicate(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A create 503 is reported without a retry and does not block a later same create."""
    emulator.faults.add(route="create", kind="http", status=503)
    first = await call(client, "create_video", SUNRISE)
    assert first.is_error and emulator.counters["create"] == 1
    again = await call(client, "create_video", SUNRISE)
    assert not again.is_error, text(again)
    assert emulator.counters["create"] == 2


async def test_create_429_is_retried_after_retry_after(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A create 429 is retried after Retry-After and makes exactly one job."""
    emulator.faults.add(route="create", kind="http", status=429, retry_after=1)
    result = await call(client, "create_video", SUNRISE)
    assert not result.is_error, text(result)
    assert emulator.counters["create"] == 2
    assert len(emulator.jobs) == 1


@pytest.mark.parametrize(
    ("status", "kind"), [(402, "insufficient_funds"), (403, "content_refused")]
)
async def test_create_refusals_are_distinct(
    client: Client, emulator: EmulatorHandle, status: int, kind: str
) -> None:
    """Each create refusal status gets its own failure kind, sent once."""
    emulator.faults.add(route="create", kind="http", status=status)
    result = await call(client, "create_video", SUNRISE)
    assert result.is_error and data(result)["failure_kind"] == kind
    assert emulator.counters["create"] == 1
    if kind == "content_refused":
        assert "Do not retry" in text(result)


async def test_create_dropped_after_sending_is_outcome_unknown_and_guarded(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The job may exist: never retried, reported as outcome unknown, identical create refused."""
    emulator.faults.add(route="create", kind="create_then_drop")
    first = await call(client, "create_video", SUNRISE)
    assert first.is_error and data(first)["failure_kind"] == "outcome_unknown"
    assert data(first)["next_call"]["tool"] == "list_videos"
    assert emulator.counters["create"] == 1 and len(emulator.jobs) == 1
    again = await call(client, "create_video", SUNRISE)
    assert again.is_error and data(again)["failure_kind"] == "duplicate"
    assert emulator.counters["create"] == 1
    listed = data(await call(client, "list_videos", {}))
    ids = [v["video_id"] for v in listed["videos"]]
    assert list(emulator.jobs)[0] in ids  # the unknown row got the gateway's id


async def test_create_timeout_is_outcome_unknown(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A create that times out is outcome_unknown and is not resent."""
    settings = make_settings(
        emulator.base_url, output_dir, state_dir, read_timeout_seconds=20.0
    )  # 0.2 s of real time at the test time scale
    emulator.faults.add(route="create", kind="slow", delay=1.0)
    async with Client(build_server(settings)) as client:
        result = await call(client, "create_video", SUNRISE)
    assert result.is_error and data(result)["failure_kind"] == "outcome_unknown"
    assert emulator.counters["create"] == 1


async def test_create_connection_refused_is_retried_then_reported(
    output_dir: Path, state_dir: Path, emulator: EmulatorHandle
) -> None:
    """Nothing listens: the request certainly never arrived, so retrying is safe."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(f"http://127.0.0.1:{port}/v1", output_dir, state_dir)
    async with Client(build_server(settings)) as client:
        result = await call(client, "create_video", SUNRISE)
        assert result.is_error and "connect" in text(result).lower()
        listed = data(await call(client, "list_videos", {}))
    assert listed["gateway_reachable"] is False


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize("kind", ["drop_mid_body", "short_body"])
async def test_broken_download_restarts_from_the_start(
    client: Client, emulator: EmulatorHandle, output_dir: Path, kind: str
) -> None:
    """A download broken once restarts from the start and saves one file."""
    video_id = await _job(client, emulator)
    emulator.faults.add(route="content", kind=kind, count=1)
    result = await call(client, "download_video", {"video_id": video_id})
    assert not result.is_error, text(result)
    assert emulator.counters["content"] == 2
    assert sorted(p.name for p in output_dir.iterdir()) == [f"{video_id}.mp4"]


async def test_download_that_keeps_breaking_leaves_no_file(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """A download that keeps breaking is an error after its attempts and leaves no file."""
    video_id = await _job(client, emulator)
    emulator.faults.add(route="content", kind="drop_mid_body", count=10)
    result = await call(client, "download_video", {"video_id": video_id})
    assert result.is_error
    assert emulator.counters["content"] == 5
    assert list(output_dir.iterdir()) == []


async def test_wrong_sha256_gets_exactly_one_fresh_download_then_an_error(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """A sha256 mismatch gets one fresh download, then an integrity error and no file."""
    video_id = await _job(client, emulator, wrong_sha256=True)
    result = await call(client, "download_video", {"video_id": video_id})
    assert result.is_error and data(result)["failure_kind"] == "integrity"
    assert "sha256" in text(result)
    assert emulator.counters["content"] == 2
    assert list(output_dir.iterdir()) == []
