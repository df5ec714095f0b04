"""jobs/download.py against the emulator: a verified file at its final name, or no file; a
broken transfer restarts, a wrong hash gets one fresh download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.errors import IntegrityError, TransportError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.jobs.download import Expected, NameTaken, existing_matches, save_output

pytestmark = pytest.mark.anyio


async def _done(gateway: GatewayClient, emulator: EmulatorHandle) -> Job:
    """A completed job, its time skipped on the emulator's clock."""
    created = await gateway.create({"model": "openai/sora-2", "prompt": "a paper boat"})
    emulator.clock.advance(10_000)
    return Job.from_api(await gateway.get(created.id))


async def _save(gateway: GatewayClient, job: Job, target: Path, **kw: object) -> object:
    out = job.outputs[0]
    return await save_output(
        gateway,
        video_id=job.video_id,
        index=0,
        target=target,
        expected=Expected(size=out.bytes, sha256=out.sha256),
        **kw,  # type: ignore[arg-type]
    )


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_download_lands_verified_at_its_name(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """The saved file has the announced hash and size; no temporary file is left."""
    job = await _done(gateway, emulator)
    target = output_dir / "boat.mp4"
    saved = await _save(gateway, job, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == job.outputs[0].sha256
    assert saved.transferred and saved.size == target.stat().st_size  # type: ignore[attr-defined]
    assert _files(output_dir) == ["boat.mp4"]
    assert await existing_matches(target, job.outputs[0].sha256)


async def test_a_taken_name_is_refused_before_any_transfer(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Another file at the name is left alone and nothing is fetched, unless overwrite is set."""
    job = await _done(gateway, emulator)
    target = output_dir / "boat.mp4"
    target.write_bytes(b"the user's own file")
    with pytest.raises(NameTaken):
        await _save(gateway, job, target)
    assert target.read_bytes() == b"the user's own file" and emulator.counters["content"] == 0
    await _save(gateway, job, target, overwrite=True)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == job.outputs[0].sha256


async def test_a_broken_transfer_restarts_from_the_start(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """A transfer cut mid-body is thrown away and fetched again in full; the file is whole."""
    job = await _done(gateway, emulator)
    emulator.faults.add("content", "drop_mid_body")
    target = output_dir / "boat.mp4"
    await _save(gateway, job, target)
    assert emulator.counters["content"] == 2
    assert hashlib.sha256(target.read_bytes()).hexdigest() == job.outputs[0].sha256
    assert _files(output_dir) == ["boat.mp4"]


async def test_a_transfer_that_keeps_breaking_leaves_no_file(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """After the policy's attempts a broken download is a TransportError and leaves nothing."""
    job = await _done(gateway, emulator)
    emulator.faults.add("content", "drop_mid_body", count=100)
    with pytest.raises(TransportError):
        await _save(gateway, job, output_dir / "boat.mp4")
    assert emulator.counters["content"] == gateway.policy.max_retries + 1
    assert _files(output_dir) == []


async def test_a_wrong_hash_gets_one_fresh_download_then_fails_without_a_file(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Bytes that do not match the announced sha256 are fetched once more, then refused."""
    emulator.plan_next_job(JobPlan(wrong_sha256=True))
    job = await _done(gateway, emulator)
    with pytest.raises(IntegrityError):
        await _save(gateway, job, output_dir / "boat.mp4")
    assert emulator.counters["content"] == 2 and _files(output_dir) == []


async def test_a_cancelled_download_leaves_no_temporary_file(
    gateway: GatewayClient, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Cancelled while the bytes flow, the download removes its temporary file."""
    emulator.plan_next_job(JobPlan(asset_bytes=64 * 1024 * 1024))
    job = await _done(gateway, emulator)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_save, gateway, job, output_dir / "big.mp4")
        with anyio.fail_after(30):
            while not any(p.name.endswith(".part") for p in output_dir.iterdir()):
                await anyio.sleep(0.01)  # until the transfer has begun
        tg.cancel_scope.cancel()
    assert _files(output_dir) == []
