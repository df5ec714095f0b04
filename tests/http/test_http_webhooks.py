"""Webhooks into the HTTP server (issue 17): signed events wake waits; polling is the net.

The emulator runs in this process on a frozen clock (``time_scale=0``): a job ends only when
the test advances the clock, and its webhook is then delivered to the server's receiver. The
server's clock stands still too (``Clock(0)``): a wait polls again only when the test moves
that clock, so a wait that ends without that was woken by an event.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import bound_socket, create, mcp_client, serve_app
from mcp import Client

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import WEBHOOK_PATH
from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.emulator.config import WebhookEndpoint
from phaseo_mcp.gateway.webhook_signing import MAX_BODY_BYTES, sign
from phaseo_mcp.server.http import HttpOptions, build_http_app

from helpers import OTHER_KEY, data, make_settings, text

pytestmark = pytest.mark.anyio
SECRET = "whsec_test_0123456789abcdef"
JOB_SECONDS = 60.0
SAFETY_NET_SECONDS = 30  # 4 x the emulator's 10 s poll interval, at most 30 s


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=0, poll_after_seconds=10, job_seconds=JOB_SECONDS)


@asynccontextmanager
async def webhook_server(
    emulator: EmulatorHandle,
    output_dir: Path,
    state_dir: Path,
    *,
    multi_user: bool = False,
    **extra: Any,
) -> AsyncIterator[tuple[str, Clock]]:
    """The HTTP server with webhooks on, its public URL its own loopback address."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    settings = make_settings(
        emulator.base_url,
        output_dir,
        state_dir,
        public_url=f"http://127.0.0.1:{port}",
        webhook_secret=SECRET,
        **extra,
    )
    clock = Clock(0)
    app = build_http_app(settings, HttpOptions(port=port, multi_user=multi_user), clock=clock)
    try:
        async with serve_app(app, sock) as served:
            yield served.base, clock
    finally:
        sock.close()


async def _until(check: Any, what: str) -> None:
    """Wait (bounded) for something another task makes true."""
    with anyio.fail_after(30):
        while not check():
            await anyio.sleep(0.01)
    assert check(), what


async def _settle(emulator: EmulatorHandle, video_id: str) -> None:
    """Wait until the dispatcher has acted on the job's end: answered, or dropped unsent."""
    job = emulator.jobs[video_id]

    def handled() -> bool:
        unsent = not any(d.job is job for d in emulator.webhooks.pending)
        return bool(job.webhook_sent_keys) and (bool(job.webhook_attempts) or unsent)

    await _until(handled, "the completion event was handled")


def _events(state_dir: Path) -> list[tuple[str, str]]:
    """The webhook events the journal recorded (none while it does not exist yet)."""
    path = state_dir / "journal.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT event_id, event_type FROM webhook_events ORDER BY rowid"))


async def _wait_call(client: Client, video_id: str, into: list[dict[str, Any]]) -> None:
    """One wait_for_video; the server's clock stands still, so only an event (or the test
    moving that clock) can end it: a wake that never comes fails here."""
    with anyio.fail_after(30):
        result = await client.call_tool("wait_for_video", {"video_id": video_id})
    assert not result.is_error, text(result)
    into.append(data(result))


async def _wait_as_jobs_end(
    client: Client, ids: list[str], emulator: EmulatorHandle
) -> tuple[list[dict[str, Any]], int]:
    """Waits on ``ids`` at once; the emulator's clock moves past the jobs' end once each has
    polled. Their results, and how many status reads came after that move."""
    results: list[dict[str, Any]] = []
    async with anyio.create_task_group() as tg:
        for video_id in ids:
            tg.start_soon(_wait_call, client, video_id, results)
        await _until(lambda: emulator.counters["status"] >= len(ids), "each wait polled")
        reads = emulator.counters["status"]
        emulator.clock.advance(JOB_SECONDS + 1)
    return results, emulator.counters["status"] - reads


async def _wait_past_a_lost_event(
    client: Client, video_id: str, emulator: EmulatorHandle, clock: Clock
) -> dict[str, Any]:
    """A wait while the job ends and its event goes astray: once the dispatcher has acted on
    it, the server's clock moves to the safety-net poll, which alone can end the wait."""
    results: list[dict[str, Any]] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_wait_call, client, video_id, results)
        await _until(lambda: emulator.counters["status"] >= 1, "the wait polled once")
        emulator.clock.advance(JOB_SECONDS + 1)
        await _until(lambda: clock.sleepers >= 1, "the wait sleeps until its next poll")
        await _settle(emulator, video_id)
        clock.advance(SAFETY_NET_SECONDS)
    return results[0]


async def test_signed_completion_wakes_the_wait_before_its_next_poll(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """With a 10 s poll interval, the completion event ends the wait at once: after it, the
    only status read is the one confirming it with the gateway."""
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, _),
        mcp_client(base + "/mcp") as client,
    ):
        video_id = (await create(client))["video_id"]
        sent = emulator.received["create"][-1]["webhook"]
        assert sent["url"] == base + WEBHOOK_PATH and sent["secret"] == SECRET
        results, reads = await _wait_as_jobs_end(client, [video_id], emulator)
        assert results[0]["status"] == "completed" and results[0]["terminal"]
        assert reads == 1
        attempts = emulator.jobs[video_id].webhook_attempts
        assert [a["response_status"] for a in attempts] == [200]
        assert _events(state_dir) == [(f"evt_video_{video_id}_video.completed", "video.completed")]


@pytest.mark.parametrize(("fault", "answers"), [("drop", []), ("bad_signature", [401])])
async def test_dropped_webhook_still_ends_the_wait_by_polling(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, fault: str, answers: list[int]
) -> None:
    """A delivery lost in transit, or signed with another secret (refused with 401), is not
    recorded and wakes nobody: it costs latency only, as the slower safety-net poll ends it."""
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, clock),
        mcp_client(base + "/mcp") as client,
    ):
        video_id = (await create(client))["video_id"]
        emulator.faults.add("webhook", fault, video_id=video_id)
        result = await _wait_past_a_lost_event(client, video_id, emulator, clock)
        assert result["status"] == "completed"
        attempts = emulator.jobs[video_id].webhook_attempts
        assert [a["response_status"] for a in attempts[:1]] == answers  # the first answer
        assert _events(state_dir) == []


def _delivery(video_id: str, *, stamp: int | None = None, secret: str = SECRET) -> tuple[
    bytes, dict[str, str]
]:  # fmt: skip
    body = json.dumps(
        {
            "id": f"evt_video_{video_id}_video.completed",
            "type": "video.completed",
            "created_at": int(time.time()),
            "delivery": {"key": "video.completed", "attempt": 1, "max_attempts": 4},
            "data": {"id": video_id, "object": "video", "status": "completed"},
        }
    ).encode()
    at = int(time.time()) if stamp is None else stamp
    headers = {
        "content-type": "application/json",
        "x-phaseo-timestamp": str(at),
        "x-phaseo-signature": sign(secret, at, body),
        "x-phaseo-event-id": f"evt_video_{video_id}_video.completed",
    }
    return body, headers


async def test_bad_deliveries_are_refused_and_change_nothing(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Wrong signature, stale timestamp, unsigned and oversized bodies are refused (401/413),
    never recorded and never logged with their content; a replay is acknowledged and ignored."""
    async with webhook_server(emulator, output_dir, state_dir) as (base, _):
        url = base + WEBHOOK_PATH
        async with httpx.AsyncClient(timeout=30) as http:
            body, headers = _delivery("G-wrongsig", secret="whsec_other")
            assert (await http.post(url, content=body, headers=headers)).status_code == 401
            body, headers = _delivery("G-stale", stamp=int(time.time()) - 400)
            assert (await http.post(url, content=body, headers=headers)).status_code == 401
            body, _ = _delivery("G-unsigned")
            assert (await http.post(url, content=body)).status_code == 401
            big = b"{" + b" " * MAX_BODY_BYTES + b"}"
            assert (await http.post(url, content=big)).status_code == 413

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
                for _ in range(3):
                    yield b" " * (MAX_BODY_BYTES // 2)

            assert (await http.post(url, content=chunks())).status_code == 413
            assert _events(state_dir) == []
            body, headers = _delivery("G-replayed")
            first = await http.post(url, content=body, headers=headers)
            again = await http.post(url, content=body, headers=headers)
        assert (first.status_code, first.json()) == (200, {"status": "recorded"})
        assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
        assert _events(state_dir) == [("evt_video_G-replayed_video.completed", "video.completed")]
    logged = caplog.text
    assert "G-wrongsig" not in logged and "G-stale" not in logged and SECRET not in logged
    assert "wrong signature" in logged


async def test_old_header_prefix_and_missing_event_id(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """An R2–R4 delivery (``x-ai-stats-`` headers, no event id) is verified and recorded under
    its video id and event type, so the same event of two jobs stays two events."""
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, _),
        httpx.AsyncClient(timeout=30) as http,
    ):
        for video_id in ("G-old1", "G-old2", "G-old1"):
            stamp = int(time.time())
            body = json.dumps(
                {"type": "video.completed", "created_at": stamp, "data": {"id": video_id}}
            ).encode()
            headers = {
                "x-ai-stats-timestamp": str(stamp),
                "x-ai-stats-signature": sign(SECRET, stamp, body),
            }
            answer = await http.post(base + WEBHOOK_PATH, content=body, headers=headers)
            assert answer.status_code == 200
    assert sorted(_events(state_dir)) == [
        ("G-old1:video.completed", "video.completed"),
        ("G-old2:video.completed", "video.completed"),
    ]


async def test_a_callers_own_webhook_is_left_as_given(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A create that brings its own webhook is sent with exactly that webhook, not ours."""
    own = {"url": "https://hooks.example.com/video", "secret": "caller-secret-123"}
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, _),
        mcp_client(base + "/mcp") as client,
    ):
        await create(client, webhook=own)
    assert emulator.received["create"][-1]["webhook"] == own


async def test_multi_user_callers_creates_never_get_ours(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Under --multi-user a caller's key makes the job, so our webhook is not attached."""
    async with (
        webhook_server(emulator, output_dir, state_dir, multi_user=True) as (base, _),
        mcp_client(base + "/mcp", headers={"X-Phaseo-Api-Key": OTHER_KEY}) as client,
    ):
        await create(client)
    assert "webhook" not in emulator.received["create"][-1]


async def test_duplicated_and_out_of_order_deliveries_each_wake_once(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A delivery sent twice is recorded once; one held back behind another job's still
    wakes its wait: each wait ends with its one confirming read."""
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, _),
        mcp_client(base + "/mcp") as client,
    ):
        first = (await create(client))["video_id"]
        second = (await create(client, prompt="a second sunrise"))["video_id"]
        emulator.faults.add("webhook", "reorder", video_id=first)  # sent after second's
        emulator.faults.add("webhook", "duplicate", video_id=second)
        results, reads = await _wait_as_jobs_end(client, [first, second], emulator)
    assert [r["status"] for r in results] == ["completed", "completed"] and reads == 2
    assert [a["response_status"] for a in emulator.jobs[second].webhook_attempts] == [200, 200]
    assert [a["response_status"] for a in emulator.jobs[first].webhook_attempts] == [200]
    order = [event_id for event_id, _ in _events(state_dir)]
    assert order == [f"evt_video_{v}_video.completed" for v in (second, first)]


async def test_delayed_delivery_wakes_the_wait_when_it_arrives(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A delivery that comes late still ends the wait, with one confirming read."""
    async with (
        webhook_server(emulator, output_dir, state_dir) as (base, _),
        mcp_client(base + "/mcp") as client,
    ):
        video_id = (await create(client))["video_id"]
        emulator.faults.add("webhook", "delay", video_id=video_id, seconds=120)
        results: list[dict[str, Any]] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(_wait_call, client, video_id, results)
            await _until(lambda: emulator.counters["status"] >= 1, "the wait polled once")
            reads = emulator.counters["status"]
            emulator.clock.advance(JOB_SECONDS + 1)
            await _until(lambda: emulator.webhooks.pending, "the delivery is held back")
            assert emulator.jobs[video_id].webhook_attempts == []
            emulator.clock.advance(120)
        assert results[0]["status"] == "completed" and emulator.counters["status"] == reads + 1


async def test_r6_endpoint_shape_is_sent_and_its_events_wake_the_wait(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """With PHASEO_WEBHOOK_ENDPOINT_ID the create names the registered endpoint (no URL, no
    secret), and that endpoint's signed completion ends the wait with one confirming read."""
    async with (
        webhook_server(emulator, output_dir, state_dir, webhook_endpoint_id="we_test") as (
            base,
            _,
        ),
        mcp_client(base + "/mcp") as client,
    ):
        emulator.config.webhook_endpoints["we_test"] = WebhookEndpoint(base + WEBHOOK_PATH, SECRET)
        video_id = (await create(client))["video_id"]
        sent = emulator.received["create"][-1]["webhook"]
        assert sent["endpoint_id"] == "we_test" and set(sent) == {"endpoint_id", "events"}
        results, reads = await _wait_as_jobs_end(client, [video_id], emulator)
        assert results[0]["status"] == "completed" and reads == 1
