"""Terminal outcomes beyond completed/provider error/moderation/expiry, over real HTTP, in both
status vocabularies: a cancelled job (§4.1, §6 ``video_cancelled``, §10 delete), a job that
fails on insufficient funds at settlement, and a failure with no diagnostics (``error: null``).
Every answer also validates against its OpenAPI cut (R2 → April, R3 → August)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest

from phaseo_mcp.emulator import EmulatorConfig, JobPlan, running_emulator

from emu_helpers import client, create, finish, running_receiver
from openapi_check import validate_httpx_response

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Expect:
    status: str  # the same in both vocabularies
    list_alias: str  # a documented lifecycle alias the list filter accepts (§8)
    content_status: int
    content_error: str
    content_reason: str
    error_code: str | None  # start of the string error; None: error is null


OUTCOMES = {
    "cancelled": Expect("cancelled", "canceled", 409, "not_ready", "video_cancelled",
                        "video_cancelled"),
    "insufficient_funds": Expect("failed", "error", 502, "upstream_error",
                                 "video_generation_failed", "insufficient_funds"),
    "unexplained": Expect("failed", "failed", 502, "upstream_error", "video_generation_failed",
                          None),
}  # fmt: skip
RUNNING = {"r2": "in_progress", "r3": "processing"}
CUT = {"r2": "r2", "r3": "r6"}


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
@pytest.mark.parametrize("vocabulary", ["r2", "r3"])
async def test_terminal_outcome_over_http(vocabulary: str, outcome: str) -> None:
    """The job runs, then ends in its terminal state: no asset, void billing, /content and
    download_url refuse it, the list filter finds it, and DELETE accepts it as terminal."""
    expect = OUTCOMES[outcome]
    config = EmulatorConfig(time_scale=0, vocabulary=vocabulary)  # type: ignore[arg-type]
    answers: list[httpx.Response] = []
    async with running_emulator(config) as emu, client(emu) as c:
        emu.plan_next_job(JobPlan(outcome=outcome))  # type: ignore[arg-type]
        vid = (await create(c))["id"]
        emu.clock.advance(5)
        answers.append(mid := await c.get(f"/videos/{vid}"))
        answers.append(early_delete := await c.delete(f"/videos/{vid}"))
        await finish(emu)
        answers.append(done := await c.get(f"/videos/{vid}"))
        answers.append(content := await c.get(f"/videos/{vid}/content"))
        url = await c.post(f"/videos/{vid}/download_url")
        answers.append(found := await c.get("/videos", params={"status": expect.list_alias}))
        answers.append(other := await c.get("/videos", params={"status": "completed"}))
        answers.append(deleted := await c.delete(f"/videos/{vid}"))
        answers.append(gone := await c.get(f"/videos/{vid}"))
        assert emu.jobs[vid].is_terminal(emu.clock.now())
    assert mid.json()["status"] == RUNNING[vocabulary]
    assert early_delete.status_code == 400
    assert early_delete.json()["reason"] == "video_delete_requires_terminal_status"
    body = done.json()
    assert body["status"] == expect.status
    assert ("lifecycle_status" in body) == (vocabulary == "r3")
    if vocabulary == "r3":
        assert body["lifecycle_status"] == expect.status
    assert body["completed_at"] is not None and body["asset"] is None and body["outputs"] == []
    assert body["usage"]["cost"] == 0
    assert body["billing"]["state"] == "void" and body["billing"]["settled_user_cost"] == "0.00"
    assert body.get("download_url") is None
    if expect.error_code is None:
        assert body["error"] is None
    else:
        assert body["error"].startswith(expect.error_code + ": ")
    assert content.status_code == expect.content_status
    assert (content.json()["error"], content.json()["reason"]) == (
        expect.content_error,
        expect.content_reason,
    )
    assert url.status_code == 400
    assert url.json()["reason"] == "video_download_requires_completed_status"
    assert url.json()["status"] == expect.status
    assert [v["id"] for v in found.json()["data"]] == [vid]
    assert other.json()["data"] == []
    assert deleted.json() == {"id": vid, "object": "video.deleted", "deleted": True}
    assert gone.status_code == 404 and gone.json()["reason"] == "video_deleted"
    for response in answers:
        validate_httpx_response(CUT[vocabulary], response)  # type: ignore[arg-type]
    if vocabulary == "r3":
        validate_httpx_response("r6", url)  # the April cut has no download_url route


async def test_openai_jobs_report_these_outcomes_as_error_objects() -> None:
    """OpenAI-routed jobs (and error_as_object) carry {code, type, message, provider}; an
    unexplained failure stays null either way."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        for outcome in ("cancelled", "insufficient_funds", "unexplained"):
            emu.plan_next_job(JobPlan(outcome=outcome))
        emu.plan_next_job(JobPlan(outcome="insufficient_funds", error_as_object=True))
        vids = [(await create(c, model="openai/sora-2"))["id"] for _ in range(3)]
        vids.append((await create(c))["id"])
        await finish(emu)
        answers = [await c.get(f"/videos/{vid}") for vid in vids]
    cancelled, funds, unexplained, veo_funds = (a.json() for a in answers)
    assert cancelled["error"]["code"] == "video_cancelled"
    assert cancelled["error"]["type"] == "cancelled" and cancelled["error"]["provider"] == "openai"
    assert funds["error"]["code"] == "insufficient_funds" and funds["error"]["type"] == "billing"
    assert "balance" in funds["error"]["message"]
    assert unexplained["status"] == "failed" and unexplained["error"] is None
    assert veo_funds["error"]["code"] == "insufficient_funds"
    assert veo_funds["provider"] != "openai"
    for response in answers:
        validate_httpx_response("r6", response)


@pytest.mark.parametrize(
    ("outcome", "event"), [("cancelled", "video.cancelled"), ("insufficient_funds", "video.failed")]
)
async def test_terminal_outcome_fires_its_webhook(outcome: str, event: str) -> None:
    """The default events (job.completed|failed|cancelled|expired) deliver the terminal one."""
    async with running_receiver() as receiver:
        async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
            emu.plan_next_job(JobPlan(outcome=outcome))  # type: ignore[arg-type]
            job = await create(c, webhook={"url": receiver.url, "secret": "whsec_x"})
            await finish(emu)
            await receiver.wait_for(1)
    headers, raw = receiver.deliveries[0]
    payload = json.loads(raw)
    assert headers["x-phaseo-event-type"] == payload["type"] == event
    assert payload["data"]["id"] == job["id"]
    assert payload["data"]["status"] == OUTCOMES[outcome].status


async def test_unknown_outcome_is_refused() -> None:
    """JobPlan.from_dict (the admin /_emulator/plans route) refuses an unknown outcome."""
    with pytest.raises(ValueError, match="outcome"):
        JobPlan.from_dict({"outcome": "vanished"})
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu:
        async with httpx.AsyncClient(base_url=emu.root_url, timeout=10) as admin:
            refused = await admin.post("/_emulator/plans", json={"outcome": "vanished"})
            accepted = await admin.post("/_emulator/plans", json={"outcome": "cancelled"})
    assert refused.status_code == 400 and "vanished" in refused.json()["description"]
    assert accepted.status_code == 201
