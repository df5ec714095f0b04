"""The emulator's answers validate against the gateway's own OpenAPI cuts (errata applied).

R2-shaped answers (vocabulary r2) are checked against the April cut, R3+ ones against the
August cut. Spec departures live in tests/openapi_errata.py only.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from phaseo_mcp.emulator import (
    EmulatorConfig,
    EmulatorHandle,
    JobPlan,
    WebhookEndpoint,
    running_emulator,
)

from emu_helpers import CREATE, OTHER, client, create, finish, running_receiver
from openapi_check import validate_create_request, validate_httpx_response
from openapi_errata import ERRATA

pytestmark = pytest.mark.anyio


async def _exercise(emu: EmulatorHandle, c: httpx.AsyncClient) -> list[httpx.Response]:
    """Drive every route through running, completed, failed and error answers."""
    out: list[httpx.Response] = []
    emu.plan_next_job(JobPlan())
    emu.plan_next_job(JobPlan(outcome="provider_error"))
    emu.plan_next_job(JobPlan(outcome="expired"))
    emu.plan_next_job(JobPlan(outcome="moderation", error_as_object=True))
    created = []
    for fields in (
        {"sample_count": 2, "resolution": "1080p", "aspect_ratio": "9:16"},
        {"model": "openai/sora-2", "size": "1280x720"},
        {"model": "minimax/hailuo-02", "output": {"access": "signed_url"}},
        {"output": {"access": "bytes"}},
    ):
        r = await c.post("/videos", json={**CREATE, **fields})
        out.append(r)
        created.append(r.json()["id"])
    emu.clock.advance(5)
    out += [await c.get(f"/videos/{vid}") for vid in created]
    out.append(await c.get(f"/videos/{created[0]}/content"))  # 409
    out.append(await c.get("/videos"))
    await finish(emu)
    out += [await c.get(f"/videos/{vid}") for vid in created]
    out.append(await c.get("/videos", params={"limit": 2}))
    out.append(await c.get("/videos", params={"status": "completed,failed"}))
    out.append(await c.get("/video/generations"))
    out.append(await c.get(f"/videos/{created[0]}/content"))
    out.append(await c.get(f"/video/generations/{created[0]}/content", params={"index": 1}))
    out.append(await c.get(f"/videos/{created[1]}/content"))  # 502 failed
    out.append(await c.get("/videos/models"))
    out.append(await c.get("/video/generations/models", params={"params": "duration"}))
    out.append(await c.post(f"/videos/{created[0]}/cancel"))
    out.append(await c.post("/videos", json={"model": "nope/x", "prompt": "p", "bogus": 1}))
    out.append(await c.get("/videos/G-missing"))
    async with client(emu, key=None) as anon:
        out.append(await anon.get("/videos"))
    async with client(emu, key=OTHER) as other:
        out.append(await other.get(f"/videos/{created[0]}"))
    out.append(await c.delete(f"/videos/{created[1]}"))
    out.append(await c.get(f"/videos/{created[1]}"))  # 404 video_deleted
    return out


@pytest.mark.parametrize("timestamps", ["int", "iso"])
async def test_r3_answers_validate_against_the_august_cut(timestamps: str) -> None:
    """Every R3+ answer validates against videos-2026-08-22.yaml."""
    config = EmulatorConfig(time_scale=0, timestamps=timestamps)  # type: ignore[arg-type]
    async with running_emulator(config) as emu, client(emu) as c:
        responses = await _exercise(emu, c)
        url = await c.post(f"/videos/{next(iter(emu.jobs))}/download_url", json={"index": 1})
        responses.append(url)
        early = await c.post(f"/videos/{(await create(c))['id']}/download_url")
        responses.append(early)
    assert {r.status_code for r in responses} >= {200, 202, 400, 401, 404, 409, 501, 502}
    for response in responses:
        validate_httpx_response("r6", response)


@pytest.mark.parametrize("timestamps", ["int", "iso"])
async def test_r2_answers_validate_against_the_april_cut(timestamps: str) -> None:
    """Every R2 answer validates against videos-2026-04-01.yaml."""
    config = EmulatorConfig(time_scale=0, vocabulary="r2", timestamps=timestamps)  # type: ignore[arg-type]
    async with running_emulator(config) as emu, client(emu) as c:
        responses = await _exercise(emu, c)
    for response in responses:
        validate_httpx_response("r2", response)


async def test_openai_string_seconds_and_in_progress_validate_via_errata() -> None:
    """seconds as a string and in_progress need their errata, and pass with them."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        emu.plan_next_job(JobPlan(seconds_as_string=True))
        job = await create(c, model="openai/sora-2")
        emu.clock.advance(5)
        response = await c.get(f"/videos/{job['id']}")
    assert response.json()["status"] == "in_progress" and response.json()["seconds"] == "8"
    validate_httpx_response("r6", response)


async def test_webhook_state_validates_against_the_august_cut() -> None:
    """A job with webhook delivery state validates (AsyncWebhookPublicState)."""
    async with running_receiver(statuses=[500]) as receiver:
        endpoints = {"we_1": WebhookEndpoint(receiver.url, "whsec_x")}
        config = EmulatorConfig(time_scale=0, webhook_endpoints=endpoints)
        async with running_emulator(config) as emu, client(emu) as c:
            a = await create(c, webhook={"endpoint_id": "we_1"})
            b = await create(c, webhook={"url": receiver.url, "secret": "s"})
            emu.clock.advance(50)
            await receiver.wait_for(2)
            responses = [await c.get(f"/videos/{a['id']}"), await c.get(f"/videos/{b['id']}")]
    for response in responses:
        assert "webhook" in response.json()
        validate_httpx_response("r6", response)


async def test_an_invalid_answer_is_caught() -> None:
    """The checker is not vacuous: a wrong type and an unknown status fail."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        emu.plan_next_job(JobPlan(status_override="weird_state"))
        job = await c.post("/videos", json=CREATE)
    with pytest.raises(AssertionError, match="weird_state"):
        validate_httpx_response("r6", job)


async def test_each_erratum_is_needed() -> None:
    """Without the errata, a queued job, the MP4, an OpenAI job and a 409 all fail."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        emu.plan_next_job(JobPlan())
        emu.plan_next_job(JobPlan(seconds_as_string=True))
        job = await create(c)
        sora = await create(c, model="openai/sora-2")
        not_ready = await c.get(f"/videos/{job['id']}/content")
        emu.clock.advance(5)
        sora_mid = await c.get(f"/videos/{sora['id']}")
        await finish(emu)
        mp4 = await c.get(f"/videos/{job['id']}/content")
        queued = await c.post("/videos", json=CREATE)
    for response in (queued, mp4, sora_mid, not_ready):
        validate_httpx_response("r6", response)
        with pytest.raises(AssertionError):
            validate_httpx_response("r6", response, errata=False)


def test_create_request_validation_helper() -> None:
    """validate_create_request accepts documented bodies and rejects bad ones, per cut."""
    r2_body: dict[str, Any] = {**CREATE, "webhook": {"url": "https://x.test/h", "secret": "s"}}
    r6_body: dict[str, Any] = {**CREATE, "webhook": {"endpoint_id": "we_1"}, "sample_count": 2}
    validate_create_request(r2_body, "r2")
    validate_create_request(r6_body, "r6")
    with pytest.raises(AssertionError):
        validate_create_request(r2_body, "r6")  # R6 webhook is {endpoint_id} only
    with pytest.raises(AssertionError):
        validate_create_request({"model": "m"}, "r2")  # prompt required
    with pytest.raises(AssertionError):
        validate_create_request({**CREATE, "duration": "8"}, "r6")


def test_errata_cite_the_api_document() -> None:
    """Each erratum names a section of phaseo-api.md."""
    assert ERRATA and all("§" in e.section for e in ERRATA)
