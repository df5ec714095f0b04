"""Heartbeats between slow polls, deletion with a tombstone, pruning, and the demo."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, JobPlan
from phaseo_mcp.jobs.fingerprint import key_fingerprint
from phaseo_mcp.jobs.journal_open import open_journal

from helpers import INITIALIZED, SUNRISE, TEST_KEY, call, data, mp4_boxes, raw_initialize, text

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=100.0, poll_after_seconds=30)


async def test_heartbeats_arrive_between_slow_polls(
    client: Client, emulator: EmulatorHandle
) -> None:
    """With polls 30 s apart, progress still arrives at least every 10 s."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    job = data(await call(client, "create_video", SUNRISE))
    emulator.counters.reset()
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    result = await call(
        client,
        "wait_for_video",
        {"video_id": job["video_id"], "timeout_seconds": 50},
        progress_callback=on_progress,
    )
    assert data(result)["budget_exhausted"] is True
    assert emulator.counters["status"] == 2  # at 0 s and 30 s: never faster than asked
    assert len(seen) >= 5  # one per poll plus heartbeats at ~10, 20, 40 s…
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))


async def test_delete_leaves_a_tombstone_and_running_jobs_cannot_be_deleted(
    client: Client, emulator: EmulatorHandle, state_dir: Path
) -> None:
    """Deleting a running job is refused; a deleted job is not_found and tombstoned."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    running = data(await call(client, "create_video", SUNRISE))
    refused = await call(client, "delete_video", {"video_id": running["video_id"]})
    assert refused.is_error
    assert "terminal" in text(refused).lower()
    done = data(await call(client, "create_video", {**SUNRISE, "prompt": "another"}))
    emulator.clock.advance(10_000)
    deleted = await call(client, "delete_video", {"video_id": done["video_id"]})
    assert not deleted.is_error and data(deleted)["deleted"] is True
    after = await call(client, "get_video_status", {"video_id": done["video_id"]})
    assert after.is_error and data(after)["failure_kind"] == "not_found"
    journal = open_journal(journal_url=None, state_dir=state_dir)
    try:
        row = journal.get(key_fingerprint(TEST_KEY), done["video_id"])
    finally:
        journal.close()
    assert row is not None and row.deleted is True


async def test_journal_prune_command_forgets_old_entries(client: Client, state_dir: Path) -> None:
    """`phaseo-mcp journal prune` removes old journal entries and reports how many."""
    await call(client, "create_video", SUNRISE)
    env = {"PATH": "/usr/bin:/bin", "PHASEO_STATE_DIR": str(state_dir)}
    cmd = [sys.executable, "-m", "phaseo_mcp", "journal", "prune", "--older-than", "0"]
    with anyio.fail_after(60):
        done = await anyio.run_process(cmd, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "removed 1 journal entries" in done.stdout.decode()
    listed = data(await call(client, "list_videos", {}))
    assert all(v["prompt"] != SUNRISE["prompt"] or v["video_id"] for v in listed["videos"])


@pytest.mark.slow
async def test_demo_saves_a_valid_mp4(tmp_path: Path) -> None:
    """The README's first command: no key, no network, a playable file at the end."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "phaseo_mcp", "demo", "--output-dir", str(tmp_path / "out")]
    with anyio.fail_after(180):
        done = await anyio.run_process(cmd, env=env, check=False)
    stdout = done.stdout.decode()
    assert done.returncode == 0, stdout + done.stderr.decode()
    match = re.search(r"Saved: (.+\.mp4)", stdout)
    assert match, stdout
    saved = Path(match.group(1))
    assert saved.parent == tmp_path / "out"
    assert {"ftyp", "moov", "mdat"} <= set(mp4_boxes(saved))
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        probe = await anyio.run_process(
            [ffprobe, "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
             str(saved)],
            check=False,
        )  # fmt: skip
        assert probe.returncode == 0 and "video" in probe.stdout.decode()


async def test_demo_failure_says_what_the_gateway_said(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """When a step fails, the demo reports the tool's own message, not a missing field."""
    from phaseo_mcp.demo import DemoStepFailed, _drive

    emulator.faults.add(route="create", kind="http", status=402)
    with anyio.fail_after(60), pytest.raises(DemoStepFailed) as failed:
        await _drive(emulator.base_url, tmp_path / "out", tmp_path / "state")
    message = str(failed.value)
    assert message.startswith("create_video failed: ")
    assert "None" not in message and "credit" in message.lower()
    assert emulator.counters["create"] == 1


HANDSHAKE = [
    raw_initialize(),
    INITIALIZED,
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


@pytest.mark.parametrize("stdin_kind", ["file", "pipe"])
async def test_stdio_answers_whether_stdin_is_a_pipe_or_a_file(
    tmp_path: Path, stdin_kind: str
) -> None:
    """Pipes use the asyncio transport, anything else the threaded fallback; stdout carries
    only JSON-RPC either way."""
    import json
    import subprocess

    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(m) + "\n" for m in HANDSHAKE))
    cmd = [sys.executable, "-m", "phaseo_mcp"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PHASEO_LOG_LEVEL": "DEBUG"}

    def run() -> subprocess.CompletedProcess[bytes]:
        if stdin_kind == "file":
            with requests.open("rb") as fh:
                return subprocess.run(cmd, stdin=fh, capture_output=True, env=env, timeout=60)
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(requests.read_bytes())
        proc.stdin.flush()
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        proc.stdin.close()  # EOF: the server finishes and exits
        returncode = proc.wait(timeout=60)
        out = proc.stdout.read()
        err = proc.stderr.read() if proc.stderr else b""
        return subprocess.CompletedProcess(cmd, returncode, b"".join(lines) + out, err)

    done = await anyio.to_thread.run_sync(run)
    replies = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert done.returncode == 0
    assert all(r["jsonrpc"] == "2.0" and r["id"] in (1, 2) for r in replies)
    if stdin_kind == "pipe":
        assert [r["id"] for r in replies] == [1, 2], done.stderr.decode()[-2000:]
        assert {t["name"] for t in replies[1]["result"]["tools"]} >= {"create_video"}
    else:  # a file reaches EOF at once, and EOF ends the session (in-flight calls included)
        assert "reading in threads" in done.stderr.decode()
