"""kill -9 and SIGTERM against a real stdio server process: no file at the final path, a
readable journal, and a create whose answer was lost is still found after a restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.jobs.journal_open import open_journal
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.stopping import STOPPED_MESSAGE

from helpers import SUNRISE, TEST_KEY, call, data, make_settings, server_process, stdio_params

pytestmark = pytest.mark.anyio
ASSET = 8 * 1024 * 1024
STALL_AFTER = 1024 * 1024


def _params(emulator: EmulatorHandle, out: Path, state: Path) -> StdioServerParameters:
    return stdio_params(emulator.base_url, out, state)


async def _until(predicate: Any, timeout: float = 60.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


async def _start_call(client: Client, tool: str, args: dict, outcome: dict) -> None:
    try:
        outcome["result"] = await call(client, tool, args)
    except Exception as exc:  # the server went away mid-call
        outcome["error"] = exc


async def _run_until_killed(
    emulator: EmulatorHandle, out: Path, state: Path, tool: str, args: dict, ready: Any, sig: int
) -> dict[str, Any]:
    """Run ``tool`` in a stdio server and send ``sig`` once ``ready()``: the call's outcome.
    The server must exit by itself (the wait for it is bounded; no time is measured)."""
    outcome: dict[str, Any] = {}
    with anyio.fail_after(120):  # a bound for a loaded machine, not a measure
        async with Client(_params(emulator, out, state)) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_start_call, client, tool, args, outcome)
                await _until(ready)
                proc = server_process()
                os.kill(proc.pid, sig)
                await anyio.to_thread.run_sync(lambda: proc.wait(timeout=30))
                with anyio.move_on_after(5):
                    await _until(lambda: bool(outcome))
                tg.cancel_scope.cancel()
    return outcome


async def _completed_job(emulator: EmulatorHandle, out: Path, state: Path, **plan: Any) -> str:
    emulator.plan_next_job(JobPlan(**plan))
    async with Client(build_server(make_settings(emulator.base_url, out, state))) as client:
        video_id = str(data(await call(client, "create_video", SUNRISE))["video_id"])
    emulator.clock.advance(10_000)
    return video_id


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
async def test_killed_during_download_leaves_no_file_at_the_final_path(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, sig: int
) -> None:
    """A server killed mid-download leaves no file at the final path. The emulator stalls the
    body after its first MiB, so the download is surely running when the signal lands."""
    video_id = await _completed_job(emulator, output_dir, state_dir, asset_bytes=ASSET)
    emulator.faults.add("content", "stall_mid_body", after_bytes=STALL_AFTER, delay=120)
    outcome = await _run_until_killed(
        emulator,
        output_dir,
        state_dir,
        "download_video",
        {"video_id": video_id},
        lambda: any(p.name.endswith(".part") for p in output_dir.iterdir()),
        sig,
    )
    assert not (output_dir / f"{video_id}.mp4").exists()
    if sig == signal.SIGTERM:  # a clean stop also removes its temp file
        assert list(output_dir.iterdir()) == []
        assert "result" in outcome, outcome  # and answers the call it stopped
        assert data(outcome["result"])["next_call"]["tool"] == "download_video"
    journal = open_journal(journal_url=None, state_dir=state_dir)
    try:
        assert any(r.video_id == video_id for r in journal.list_jobs(_fp()))
    finally:
        journal.close()


async def test_sigterm_during_wait_exits_promptly(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """SIGTERM during a long wait stops the server promptly and cleanly."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    async with Client(build_server(make_settings(emulator.base_url, output_dir, state_dir))) as c:
        video_id = str(data(await call(c, "create_video", SUNRISE))["video_id"])
    emulator.counters.reset()
    outcome = await _run_until_killed(
        emulator,
        output_dir,
        state_dir,
        "wait_for_video",
        {"video_id": video_id, "timeout_seconds": 600},
        lambda: emulator.counters["status"] >= 2,
        signal.SIGTERM,
    )
    assert "result" in outcome, outcome  # answered, not a broken pipe
    stopped = data(outcome["result"])
    assert outcome["result"].is_error and stopped["error"] == STOPPED_MESSAGE
    assert stopped["next_call"] == {
        "tool": "wait_for_video",
        "arguments": {"video_id": video_id, "timeout_seconds": 600},
    }


@pytest.mark.parametrize("made", [False, True], ids=["before-the-job", "after-the-job"])
async def test_kill_during_create_keeps_the_intent_and_finds_the_job_after_restart(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, made: bool
) -> None:
    """kill -9 while the create is in flight: the intent row survives; after a restart
    list_videos shows it, with the job's id once the gateway lists the job."""
    # before-the-job: the route runs only after the delay, far past the restart and listing
    emulator.faults.add(route="create", kind="slow", delay=3.0 if made else 20.0, hold_answer=made)
    await _run_until_killed(
        emulator,
        output_dir,
        state_dir,
        "create_video",
        SUNRISE,
        lambda: emulator.counters["create"] >= 1 and len(emulator.jobs) == int(made),
        signal.SIGKILL,
    )
    journal = open_journal(journal_url=None, state_dir=state_dir)
    try:
        rows = journal.list_jobs(_fp())
    finally:
        journal.close()
    assert len(rows) == 1 and rows[0].state in ("intent", "outcome_unknown")
    assert rows[0].video_id is None
    async with Client(build_server(make_settings(emulator.base_url, output_dir, state_dir))) as c:
        listed = data(await call(c, "list_videos", {}))
    shown = [v["video_id"] for v in listed["videos"]]
    if made:  # the gateway lists the job: the surviving row now carries its id
        assert shown == list(emulator.jobs)
    else:  # nothing was made (yet): the intent is shown, with its prompt
        assert shown == [None] and listed["videos"][0]["prompt"] == SUNRISE["prompt"]


def _fp() -> str:
    from phaseo_mcp.jobs.fingerprint import key_fingerprint

    return key_fingerprint(TEST_KEY)
