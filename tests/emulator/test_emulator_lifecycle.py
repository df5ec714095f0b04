"""Job plans: both vocabularies, timestamps, failures, expiry, odd statuses, integrity."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, JobPlan, running_emulator

from emu_helpers import client, create, finish

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=0.0)


async def _statuses(emu: EmulatorHandle, vid: str, steps: int = 4) -> list[str]:
    seen = []
    async with client(emu) as c:
        for _ in range(steps):
            seen.append((await c.get(f"/videos/{vid}")).json()["status"])
            emu.clock.advance(emu.config.job_seconds / 3)
    return seen


async def test_r3_vocabulary_and_expiry(emulator: EmulatorHandle) -> None:
    """R3: queued → processing → completed; an expiring job ends 'expired'."""
    emulator.plan_next_job(JobPlan())
    emulator.plan_next_job(JobPlan(outcome="expired"))
    async with client(emulator) as c:
        ok, gone = await create(c), await create(c)
    assert await _statuses(emulator, ok["id"]) == [
        "queued",
        "processing",
        "processing",
        "completed",
    ]
    async with client(emulator) as c:
        expired = (await c.get(f"/videos/{gone['id']}")).json()
        content = await c.get(f"/videos/{gone['id']}/content")
    assert expired["status"] == "expired" and expired["lifecycle_status"] == "expired"
    assert content.status_code == 409 and content.json()["reason"] == "video_expired"
    assert expired["billing"]["state"] == "void"
    assert expired["billing"]["settled_user_cost"] == "0.00"


async def test_r2_vocabulary_maps_expired_to_failed(emulator: EmulatorHandle) -> None:
    """R2: pending → in_progress → completed, and expired is reported as failed."""
    emulator.plan_next_job(JobPlan(vocabulary="r2"))
    emulator.plan_next_job(JobPlan(vocabulary="r2", outcome="expired"))
    async with client(emulator) as c:
        ok, gone = await create(c), await create(c)
    steps = await _statuses(emulator, ok["id"])
    assert steps == ["pending", "in_progress", "in_progress", "completed"]
    async with client(emulator) as c:
        body = (await c.get(f"/videos/{gone['id']}")).json()
    assert body["status"] == "failed" and "lifecycle_status" not in body


async def test_config_vocabulary_and_iso_timestamps() -> None:
    """The run's vocabulary and timestamp style apply to every job."""
    config = EmulatorConfig(vocabulary="r2", timestamps="iso", time_scale=0)
    async with running_emulator(config) as emu, client(emu) as c:
        job = await create(c)
        await finish(emu)
        done = (await c.get(f"/videos/{job['id']}")).json()
    assert job["status"] == "pending"
    assert isinstance(done["created_at"], str) and done["created_at"].endswith("Z")
    assert isinstance(done["completed_at"], str)


async def test_openai_jobs_say_in_progress_with_string_seconds(emulator: EmulatorHandle) -> None:
    """R6 OpenAI jobs: in_progress while processing; seconds_as_string; error objects."""
    emulator.plan_next_job(JobPlan(seconds_as_string=True, outcome="provider_error"))
    async with client(emulator) as c:
        job = await create(c, model="openai/sora-2", duration=8)
        emulator.clock.advance(5)
        mid = (await c.get(f"/videos/{job['id']}")).json()
        await finish(emulator)
        failed = (await c.get(f"/videos/{job['id']}")).json()
    assert mid["status"] == "in_progress" and mid["lifecycle_status"] == "running"
    assert mid["seconds"] == "8" and mid["provider"] == "openai"
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "provider_error"


async def test_provider_error_and_moderation_payloads(emulator: EmulatorHandle) -> None:
    """Failures name the provider failure, or say the safety filter refused the content."""
    emulator.plan_next_job(JobPlan(outcome="provider_error"))
    emulator.plan_next_job(JobPlan(outcome="moderation"))
    emulator.plan_next_job(JobPlan(outcome="moderation", error_as_object=True))
    async with client(emulator) as c:
        jobs = [await create(c) for _ in range(3)]
        await finish(emulator)
        bodies = [(await c.get(f"/videos/{j['id']}")).json() for j in jobs]
        content = await c.get(f"/videos/{jobs[0]['id']}/content")
    provider, moderated, moderated_obj = bodies
    assert provider["status"] == "failed" and "google-ai-studio" in provider["error"]
    assert moderated["error"].startswith("content_policy_violation")
    assert "safety filter" in moderated["error"]
    assert moderated_obj["error"]["code"] == "content_policy_violation"
    assert moderated_obj["error"]["type"] == "moderation"
    assert provider["asset"] is None and provider["usage"]["cost"] == 0
    assert content.status_code == 502
    assert content.json()["reason"] == "video_generation_failed"


async def test_stuck_and_unknown_status_and_no_progress(emulator: EmulatorHandle) -> None:
    """stuck never finishes; status_override reports a raw string; progress=False hides it."""
    emulator.plan_next_job(JobPlan(outcome="stuck"))
    emulator.plan_next_job(JobPlan(status_override="weird_state"))
    emulator.plan_next_job(JobPlan(progress=False))
    async with client(emulator) as c:
        stuck, weird, quiet = [await create(c) for _ in range(3)]
        emulator.clock.advance(5)
        quiet_mid = (await c.get(f"/videos/{quiet['id']}")).json()
        emulator.clock.advance(10_000)
        bodies = [(await c.get(f"/videos/{j['id']}")).json() for j in (stuck, weird, quiet)]
    assert bodies[0]["status"] == "processing" and bodies[0]["progress"] == 50
    assert bodies[1]["status"] == "weird_state"
    assert quiet_mid["progress_source"] == "none" and quiet_mid["progress"] in (0, None)
    assert bodies[2]["progress"] == 100
    assert emulator.jobs[stuck["id"]].status == "processing"


async def test_wrong_sha256_and_plan_job_changes_a_running_job(emulator: EmulatorHandle) -> None:
    """wrong_sha256 advertises a digest the bytes do not have; plan_job swaps a job's plan."""
    async with client(emulator) as c:
        job = await create(c)
        emulator.plan_job(job["id"], JobPlan(wrong_sha256=True, seconds=4))
        emulator.clock.advance(5)
        done = (await c.get(f"/videos/{job['id']}")).json()
        data = (await c.get(f"/videos/{job['id']}/content")).content
    assert done["status"] == "completed"
    assert done["asset"]["sha256"] != hashlib.sha256(data).hexdigest()


async def test_synthetic_asset_is_deterministic_and_differs_per_output(
    emulator: EmulatorHandle,
) -> None:
    """asset_bytes: exact size, stable bytes, matching sha256, distinct per output index."""
    emulator.plan_next_job(JobPlan(asset_bytes=300_000))
    emulator.plan_next_job(JobPlan(asset_bytes=300_000))
    async with client(emulator) as c:
        a = await create(c, sample_count=2)
        b = await create(c)
        await finish(emulator)
        done = (await c.get(f"/videos/{a['id']}")).json()
        a0 = (await c.get(f"/videos/{a['id']}/content")).content
        a1 = (await c.get(f"/videos/{a['id']}/content?index=1")).content
        b0 = (await c.get(f"/videos/{b['id']}/content")).content
    assert len(a0) == len(a1) == 300_000
    assert a0 == b0 and a0 != a1
    assert a0[4:8] == b"ftyp"
    assert done["asset"]["sha256"] == hashlib.sha256(a0).hexdigest()
    assert done["outputs"][1]["sha256"] == hashlib.sha256(a1).hexdigest()


async def test_content_cap_gives_502_too_large() -> None:
    """Above content_cap_bytes /content answers 502 video_content_too_large."""
    config = EmulatorConfig(time_scale=0, content_cap_bytes=1000)
    async with running_emulator(config) as emu, client(emu) as c:
        job = await create(c)
        await finish(emu)
        response = await c.get(f"/videos/{job['id']}/content")
    assert response.status_code == 502
    assert response.json()["reason"] == "video_content_too_large"


async def test_time_scale_runs_jobs_without_advancing() -> None:
    """With time_scale=100 a 10 s job finishes in about 0.1 s of real time."""
    async with running_emulator(EmulatorConfig(time_scale=100.0)) as emu, client(emu) as c:
        job = await create(c)
        with anyio.fail_after(5):
            status = ""
            while status != "completed":  # noqa: ASYNC110 - polling is what clients do
                status = (await c.get(f"/videos/{job['id']}")).json()["status"]
                await anyio.sleep(0.02)
