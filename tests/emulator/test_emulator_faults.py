"""Every fault kind, from Python and over the admin routes; drops are real transport errors."""

from __future__ import annotations

import email.utils
import time

import anyio
import httpx
import pytest

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.emulator.assets import sample_bytes

from emu_helpers import CREATE, client, create, finish

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=0.0)


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (402, "insufficient_funds", "insufficient_funds"),
        (403, "guardrail_blocked", "guardrail_blocked"),
        (501, "not_implemented_yet", "video_api_temporarily_disabled"),
        (502, "upstream_error", "all_candidates_failed"),
        (500, "gateway_error", "internal_error"),
        (503, "service_unavailable", "service_unavailable"),
        (413, "payload_too_large", "payload_too_large"),
    ],
)
async def test_http_fault_answers_the_documented_error_body(
    emulator: EmulatorHandle, status: int, error: str, reason: str
) -> None:
    """An http fault answers its status with the gateway's body, then the route is normal."""
    emulator.faults.add("create", "http", status=status)
    async with client(emulator) as c:
        faulted = await c.post("/videos", json=CREATE)
        normal = await c.post("/videos", json=CREATE)
    body = faulted.json()
    assert faulted.status_code == status
    assert (body["error"], body["reason"], body["status_code"]) == (error, reason, status)
    assert {"generation_id", "error_type", "description", "error_origin"} <= set(body)
    assert normal.status_code == 202
    assert emulator.counters["create"] == 2
    assert len(emulator.received["create"]) == 2
    assert len(emulator.jobs) == 1


async def test_429_with_retry_after_seconds_date_and_none(emulator: EmulatorHandle) -> None:
    """429 key_limit_exceeded with Retry-After in seconds, as an HTTP-date, and without."""
    emulator.faults.add("status", "http", status=429, retry_after=3)
    emulator.faults.add("status", "http", status=429, retry_after="date", retry_after_seconds=5)
    emulator.faults.add("status", "http", status=429)
    async with client(emulator) as c:
        job = await create(c)
        first, second, third, ok = [await c.get(f"/videos/{job['id']}") for _ in range(4)]
    assert first.status_code == 429 and first.headers["retry-after"] == "3"
    assert first.json()["error"] == "key_limit_exceeded"
    when = email.utils.parsedate_to_datetime(second.headers["retry-after"]).timestamp()
    assert 3 <= when - time.time() <= 6
    assert third.status_code == 429 and "retry-after" not in third.headers
    assert ok.status_code == 200
    assert emulator.counters["status"] == 4


async def test_burst_of_n_then_recovery_and_wildcard_route(emulator: EmulatorHandle) -> None:
    """count=N faults N requests in a row; '*' hits any route."""
    emulator.faults.add("*", "http", count=3, status=503)
    async with client(emulator) as c:
        codes = [(await c.get("/videos/models")).status_code for _ in range(2)]
        codes.append((await c.get("/videos")).status_code)
        codes.append((await c.get("/videos")).status_code)
    assert codes == [503, 503, 503, 200]
    assert len(emulator.faults) == 0


async def test_error_body_formats_one_and_two(emulator: EmulatorHandle) -> None:
    """format=1 is the oldest body, format=2 the Feb-2026 one (§12.1)."""
    emulator.faults.add("list", "http", status=401, format=1)
    emulator.faults.add("list", "http", status=400, format=2)
    async with client(emulator) as c:
        one = (await c.get("/videos")).json()
        two = (await c.get("/videos")).json()
    assert set(one) == {"generation_id", "status_code", "error", "reason"}
    assert set(two) == {"generation_id", "status_code", "error", "error_type", "description"}


async def test_raw_html_error_body(emulator: EmulatorHandle) -> None:
    """An http fault can answer a proxy's HTML page instead of JSON."""
    emulator.faults.add("status", "http", status=502, body="<html>Bad Gateway</html>")
    async with client(emulator) as c:
        response = await c.get("/videos/G-x")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html>Bad Gateway</html>"


async def test_slow_fault_delays_the_answer(emulator: EmulatorHandle) -> None:
    """slow waits `delay` real seconds: a client timeout shorter than that fires."""
    emulator.faults.add("list", "slow", delay=0.5)
    async with client(emulator, timeout=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/videos")
    emulator.faults.add("list", "slow", delay=0.05)
    async with client(emulator) as c:
        assert (await c.get("/videos")).status_code == 200


async def test_slow_fault_can_hold_the_answer_after_the_route_ran(
    emulator: EmulatorHandle,
) -> None:
    """slow with hold_answer: the create's job exists while its answer is still held."""
    emulator.faults.add("create", "slow", delay=0.5, hold_answer=True)
    async with client(emulator, timeout=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/videos", json=CREATE)
    assert len(emulator.jobs) == 1 and emulator.counters["create"] == 1


async def test_drop_is_a_transport_error_not_a_status(emulator: EmulatorHandle) -> None:
    """drop closes the socket before any byte: httpx raises RemoteProtocolError."""
    emulator.faults.add("status", "drop")
    async with client(emulator) as c:
        job = await create(c)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await c.get(f"/videos/{job['id']}")
        assert (await c.get(f"/videos/{job['id']}")).status_code == 200
    assert emulator.counters["status"] == 2


async def test_drop_mid_body_sends_part_then_closes(emulator: EmulatorHandle) -> None:
    """drop_mid_body: status and headers arrive, the body stops short, the socket closes."""
    emulator.faults.add("content", "drop_mid_body", after_bytes=1000)
    async with client(emulator) as c:
        job = await create(c)
        await finish(emulator)
        received = b""
        async with c.stream("GET", f"/videos/{job['id']}/content") as response:
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == len(sample_bytes())
            with pytest.raises(httpx.RemoteProtocolError):
                async for chunk in response.aiter_raw():
                    received += chunk
        assert received == sample_bytes()[:1000]
        assert (await c.get(f"/videos/{job['id']}/content")).content == sample_bytes()


async def test_drop_mid_body_on_json_and_signed_routes(emulator: EmulatorHandle) -> None:
    """drop_mid_body works on JSON answers too, and a content fault hits signed downloads."""
    async with client(emulator) as c:
        job = await create(c)
        await finish(emulator)
        emulator.faults.add("status", "drop_mid_body")
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(f"/videos/{job['id']}")
        url = (await c.get(f"/videos/{job['id']}")).json()["download_url"]
        emulator.faults.add("content", "drop_mid_body")
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(url)


async def test_short_body_is_a_transport_error(emulator: EmulatorHandle) -> None:
    """short_body advertises more bytes than it sends, then closes."""
    emulator.faults.add("content", "short_body", missing=10)
    async with client(emulator) as c:
        job = await create(c)
        await finish(emulator)
        async with c.stream("GET", f"/videos/{job['id']}/content") as response:
            assert int(response.headers["content-length"]) == len(sample_bytes()) + 10
            with pytest.raises(httpx.RemoteProtocolError):
                await response.aread()


async def test_create_then_drop_makes_the_job_but_no_answer(emulator: EmulatorHandle) -> None:
    """create_then_drop: the client sees a transport error, yet the job exists (and lists)."""
    emulator.faults.add("create", "create_then_drop")
    async with client(emulator) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await c.post("/videos", json=CREATE)
        listed = (await c.get("/videos")).json()
    assert len(emulator.jobs) == 1
    assert [v["id"] for v in listed["data"]] == list(emulator.jobs)


async def test_fault_scoped_to_one_video(emulator: EmulatorHandle) -> None:
    """A video_id param limits a fault to URLs naming that job."""
    async with client(emulator) as c:
        a, b = await create(c), await create(c)
        emulator.faults.add("status", "http", status=500, video_id=a["id"])
        assert (await c.get(f"/videos/{b['id']}")).status_code == 200
        assert (await c.get(f"/videos/{a['id']}")).status_code == 500


async def test_bad_fault_specs_are_refused(emulator: EmulatorHandle) -> None:
    """Unknown kinds, routes and missing params raise ValueError."""
    with pytest.raises(ValueError):
        emulator.faults.add("status", "explode")
    with pytest.raises(ValueError):
        emulator.faults.add("nowhere", "drop")
    with pytest.raises(ValueError):
        emulator.faults.add("status", "http")


async def test_admin_routes_control_faults_clock_counters_and_plans(
    emulator: EmulatorHandle,
) -> None:
    """The /_emulator routes offer the same control surface over HTTP."""
    async with client(emulator) as c, httpx.AsyncClient(base_url=emulator.root_url) as admin:
        added = await admin.post(
            "/_emulator/faults", json=[{"route": "list", "kind": "http", "status": 503}]
        )
        assert added.status_code == 201
        assert (await admin.get("/_emulator/faults")).json()["faults"][0]["status"] == 503
        assert (await c.get("/videos")).status_code == 503
        assert (await admin.post("/_emulator/faults", json={"kind": "nope"})).status_code == 400
        await admin.post("/_emulator/faults", json={"route": "list", "kind": "drop"})
        assert (await admin.delete("/_emulator/faults")).json() == {"faults": []}
        plan = await admin.post("/_emulator/plans", json={"outcome": "provider_error"})
        assert plan.status_code == 201
        job = await create(c)
        before = (await admin.get("/_emulator/clock")).json()["now"]
        after = (await admin.post("/_emulator/clock/advance", json={"seconds": 100})).json()
        assert after["now"] >= before + 100
        assert (await c.get(f"/videos/{job['id']}")).json()["status"] == "failed"
        await admin.post(f"/_emulator/jobs/{job['id']}/plan", json={"outcome": "completed"})
        assert (await c.get(f"/videos/{job['id']}")).json()["status"] == "completed"
        jobs = (await admin.get("/_emulator/jobs")).json()["jobs"]
        assert jobs[0]["id"] == job["id"]
        bodies = (await admin.get("/_emulator/received/create")).json()["bodies"]
        assert bodies == [CREATE]
        counts = (await admin.get("/_emulator/counters")).json()
        assert counts["counts"] == {"list": 1, "create": 1, "status": 2}
        assert counts["total"] == 4
        await admin.delete("/_emulator/counters")
        assert emulator.counters.total() == 0
        assert (await admin.post("/_emulator/reset")).json() == {"reset": True}
    assert emulator.counters.total() == 0


async def test_frozen_clock_only_moves_on_advance(emulator: EmulatorHandle) -> None:
    """time_scale=0 freezes emulated time; advance moves it."""
    start = emulator.clock.now()
    await anyio.sleep(0.05)
    assert emulator.clock.now() == start
    assert emulator.clock.advance(10) == pytest.approx(start + 10)
    with pytest.raises(ValueError):
        emulator.clock.advance(-1)
