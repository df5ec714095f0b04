"""gateway/client.py against the emulator over loopback: each route, the retry policy, and
what each failure becomes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import httpx
import pytest

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import RetryPolicy, Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.errors import ConfigError, GatewayError, InputError, OutcomeUnknown, TransportError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.transport import upstream_client

from helpers import make_settings

pytestmark = pytest.mark.anyio
BODY = {"model": "openai/sora-2", "prompt": "a lighthouse at dusk"}


def _client(
    http: httpx.AsyncClient, settings: Settings, clock: Clock, api_key: str | None = ""
) -> GatewayClient:
    return GatewayClient(
        http,
        base_url=settings.base_url,
        api_key=settings.api_key_value() if api_key == "" else api_key,
        policy=settings.retry,
        clock=clock,
    )


async def _done(gateway: GatewayClient, emulator: EmulatorHandle) -> Job:
    """A completed job, its time skipped on the emulator's clock."""
    created = await gateway.create(BODY)
    emulator.clock.advance(10_000)
    return Job.from_api(await gateway.get(created.id))


async def test_create_then_get_returns_the_same_job_until_it_completes(
    gateway: GatewayClient, emulator: EmulatorHandle
) -> None:
    """create gives a running job; get reads it back, and completed once its time passed."""
    created = Job.from_api(await gateway.create(BODY))
    assert created.status in ("queued", "processing")
    emulator.clock.advance(10_000)
    done = await _done(gateway, emulator)
    assert done.status == "completed" and done.outputs and done.outputs[0].sha256
    assert emulator.counters["create"] == 2 and emulator.received["create"][0] == BODY


async def test_list_pages_through_jobs_with_a_status_filter(
    gateway: GatewayClient, emulator: EmulatorHandle
) -> None:
    """list returns this key's jobs, pages with after=, and passes the status filter on."""
    ids = {(await gateway.create({**BODY, "prompt": f"clip {i}"})).id for i in range(3)}
    first = await gateway.list(limit=2)
    assert len(first.data) == 2 and first.has_more and first.last_id
    rest = await gateway.list(limit=2, after=first.last_id)
    assert {v.id for v in first.data + rest.data} == ids
    none_done = await gateway.list(statuses=["completed"])
    assert none_done.data == []
    assert "status=completed" in emulator.requests["list"][-1].query


async def test_models_filter_narrows_the_catalogue(gateway: GatewayClient) -> None:
    """models() lists the catalogue; a params filter returns only the models that have them."""
    everything = await gateway.models()
    with_audio = await gateway.models(["generate_audio"])
    assert 0 < len(with_audio.data) < len(everything.data)


async def test_content_streams_the_announced_bytes_with_the_key_or_a_signed_url(
    gateway: GatewayClient, emulator: EmulatorHandle
) -> None:
    """open_content streams bytes matching the announced sha256, with our key or a signed URL."""
    job = await _done(gateway, emulator)
    digests = []
    signed = (await gateway.download_url(job.video_id)).download_url
    for url in (None, signed):
        digest = hashlib.sha256()
        async with gateway.open_content(job.video_id, signed_url=url) as stream:
            async for chunk in stream.chunks():
                digest.update(chunk)
        digests.append(digest.hexdigest())
    assert digests == [job.outputs[0].sha256] * 2
    signed_request = emulator.requests["signed_content"][-1]
    assert "authorization" not in {k.lower() for k in signed_request.headers}


async def test_delete_removes_the_job(gateway: GatewayClient, emulator: EmulatorHandle) -> None:
    """A deleted job is gone: reading it again is not_found naming list_videos."""
    job = await _done(gateway, emulator)
    await gateway.delete(job.video_id)
    with pytest.raises(GatewayError) as caught:
        await gateway.get(job.video_id)
    assert caught.value.failure_kind == "not_found"
    assert caught.value.next_call == {"tool": "list_videos", "arguments": {}}


async def test_reads_retry_what_is_retryable_and_stop_at_the_policys_limit(
    gateway: GatewayClient, emulator: EmulatorHandle
) -> None:
    """A read retries 503s until an answer comes, and gives up after max_retries of them."""
    job = await _done(gateway, emulator)
    emulator.counters.reset()
    emulator.faults.add("status", "http", status=503, count=2)
    assert (await gateway.get(job.video_id)).id == job.video_id
    assert emulator.counters["status"] == 3
    emulator.counters.reset()
    emulator.faults.add("status", "http", status=503, count=100)
    with pytest.raises(GatewayError) as caught:
        await gateway.get(job.video_id)
    assert caught.value.failure_kind == "unavailable"
    assert emulator.counters["status"] == gateway.policy.max_retries + 1


async def test_a_create_is_never_resent_after_it_may_have_arrived(
    gateway: GatewayClient, emulator: EmulatorHandle
) -> None:
    """A create answered 503 is not retried; one whose answer was lost is outcome unknown."""
    emulator.faults.add("create", "http", status=503)
    with pytest.raises(GatewayError):
        await gateway.create(BODY)
    assert emulator.counters["create"] == 1
    emulator.faults.add("create", "create_then_drop")
    with pytest.raises(OutcomeUnknown) as caught:
        await gateway.create(BODY)
    assert caught.value.next_call == {"tool": "list_videos", "arguments": {}}
    assert emulator.counters["create"] == 2 and len(emulator.jobs) == 1


async def test_retry_after_is_waited_on_the_clients_clock(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A 429's Retry-After is slept on the client's clock: advancing it lets the retry go."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, retry=RetryPolicy())
    clock = Clock(0)
    emulator.faults.add("models", "http", status=429, retry_after=30)
    async with upstream_client(settings) as http:
        gateway = _client(http, settings, clock)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(gateway.models)
                while clock.sleepers == 0:  # the client has had its 429 and is waiting
                    await anyio.sleep(0.01)
                assert emulator.counters["models"] == 1
                clock.advance(30)
    assert emulator.counters["models"] == 2


async def test_no_key_and_bad_ids_are_refused_before_any_request(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Without a key, or with an id that could change the URL, nothing is sent."""
    async with upstream_client(settings) as http:
        with pytest.raises(ConfigError):
            await _client(http, settings, Clock(0), api_key=None).models()
        for bad in ("../models", "a/b", "x?y", ""):
            with pytest.raises(InputError):
                await _client(http, settings, Clock(0)).get(bad)
    assert emulator.counters.total() == 0


async def test_an_unreachable_gateway_is_a_transport_error_naming_the_base_url(
    output_dir: Path, state_dir: Path
) -> None:
    """Nothing listening at the base URL: a TransportError that names it, after the retries."""
    settings = make_settings("http://127.0.0.1:9/v1", output_dir, state_dir)
    async with upstream_client(settings) as http:
        with pytest.raises(TransportError) as caught:
            await _client(http, settings, Clock(0)).models()
    assert "http://127.0.0.1:9/v1" in caught.value.message
