"""The stdio server with its state directory on a full disk or a read-only mount (a tmpfs or
a bind mount in a private mount namespace, as root): every job the gateway made is found,
a create the gateway answered keeps its id, and no error result lacks a failure_kind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.jobs.fingerprint import key_fingerprint
from phaseo_mcp.server.app import build_server

from helpers import SUNRISE, TEST_KEY, call, data, make_settings, server_process, stdio_params, text

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")),
        reason="needs root, unshare and nsenter for private mounts",
    ),
]
TMPFS_SIZE = "1m"
FILL_CHUNK = 64 * 1024


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=1.0)


def in_namespace(params: StdioServerParameters, mount_script: str) -> StdioServerParameters:
    """The same server command, started after ``mount_script`` in a private mount namespace."""
    script = f'{mount_script} && exec "$@"'
    args = ["-m", "sh", "-c", script, "sh", params.command, *params.args]
    return params.model_copy(update={"command": "unshare", "args": args})


def fill(folder: Path) -> Path:
    """Write a file in ``folder`` until the disk is full; returns it."""
    filler = folder / "filler"
    chunk = b"\0" * FILL_CHUNK
    with filler.open("wb", buffering=0) as handle:
        for _ in range(100_000):  # bounded: far more than the tmpfs holds
            try:
                handle.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        else:
            raise AssertionError("the disk never filled")
        for size in (4096, 512, 1):  # the last scraps
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    return filler


READ_ROWS = """
import json, sys
from pathlib import Path
from phaseo_mcp.jobs.journal_open import open_journal
journal = open_journal(journal_url=None, state_dir=Path(sys.argv[1]))
print(json.dumps({r.video_id: r.state for r in journal.list_jobs(sys.argv[2], limit=100)}))
"""


async def journal_inside(pid: int, state_dir: Path) -> dict[str, str]:
    """video id -> row state, read by a process inside the server's mount namespace (SQLite
    resolves /proc/PID/root back to our own view)."""
    command = ["nsenter", "-t", str(pid), "-m", sys.executable, "-c", READ_ROWS]
    done = await anyio.run_process([*command, str(state_dir), key_fingerprint(TEST_KEY)])
    rows: dict[str, str] = json.loads(done.stdout)
    return rows


def assert_errors_have_a_kind(results: list[CallToolResult]) -> None:
    for result in results:
        if result.is_error:
            assert data(result).get("failure_kind"), text(result)


def env_params(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> StdioServerParameters:
    # real time: the held create answer must not hit the (scaled) read timeout
    return stdio_params(emulator.base_url, output_dir, state_dir, PHASEO_TIME_SCALE="1")


async def test_a_full_disk_never_loses_a_job_the_gateway_made(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """The state tmpfs fills up while a create's answer is on its way: the create still
    returns its video_id with a warning; a later create is refused unsent; status reads and
    list_videos keep answering; once space is freed the job is recorded for certain."""
    mount = f'mount -t tmpfs -o size={TMPFS_SIZE} tmpfs "{state_dir}"'
    params = in_namespace(env_params(emulator, output_dir, state_dir), mount)
    results: list[CallToolResult] = []
    with anyio.fail_after(180):
        async with Client(params) as client:
            first = await call(client, "create_video", SUNRISE)
            assert not first.is_error, text(first)
            inside = Path(f"/proc/{server_process().pid}/root") / state_dir.relative_to("/")
            assert (inside / "journal.sqlite3").is_file() and not any(state_dir.iterdir())
            emulator.faults.add("create", "slow", delay=3.0, hold_answer=True)
            outcome: dict[str, CallToolResult] = {}

            async def create() -> None:
                outcome["r"] = await call(client, "create_video", {**SUNRISE, "duration": 4})

            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                while len(emulator.jobs) < 2:
                    await anyio.sleep(0.01)
                filler = fill(inside)
            created = outcome["r"]
            assert not created.is_error, text(created)
            video_id = data(created)["video_id"]
            assert video_id in emulator.jobs and "full" in data(created)["warning"]

            status = await call(client, "get_video_status", {"video_id": video_id})
            assert not status.is_error and data(status)["warning"], text(status)
            refused = await call(client, "create_video", {**SUNRISE, "duration": 6})
            assert refused.is_error and "Nothing was sent" in text(refused)
            assert len(emulator.jobs) == 2
            listing = await call(client, "list_videos", {})
            assert not listing.is_error, text(listing)
            found = {v["video_id"] for v in data(listing)["videos"]}
            assert found >= set(emulator.jobs)
            results += [first, created, status, refused, listing]

            filler.unlink()
            again = await call(client, "get_video_status", {"video_id": video_id})
            assert not again.is_error and data(again).get("warning") is None, text(again)
            rows = await journal_inside(server_process().pid, state_dir)
            results.append(again)
    assert set(rows) == set(emulator.jobs) and rows[video_id] == "created"
    assert_errors_have_a_kind(results)


async def test_a_read_only_journal_refuses_creates_and_still_finds_every_job(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """The state folder is mounted read-only: a create is refused before anything is sent,
    with a failure_kind; get_video_status and list_videos answer with a warning."""
    async with Client(build_server(make_settings(emulator.base_url, output_dir, state_dir))) as c:
        video_id = data(await call(c, "create_video", SUNRISE))["video_id"]
    mount = (
        f'mount --bind "{state_dir}" "{state_dir}" && '
        f'mount -o remount,bind,ro "{state_dir}" "{state_dir}"'
    )
    params = in_namespace(env_params(emulator, output_dir, state_dir), mount)
    with anyio.fail_after(120):
        async with Client(params) as client:
            refused = await call(client, "create_video", {**SUNRISE, "duration": 4})
            status = await call(client, "get_video_status", {"video_id": video_id})
            listing = await call(client, "list_videos", {})
    assert refused.is_error and data(refused)["failure_kind"] == "config"
    assert "Read-only" in text(refused) and "Nothing was sent" in text(refused)
    assert list(emulator.jobs) == [video_id]
    assert not status.is_error and data(status)["warning"]
    assert not listing.is_error and [v["video_id"] for v in data(listing)["videos"]] == [video_id]
    assert_errors_have_a_kind([refused, status, listing])
