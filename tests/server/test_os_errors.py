"""A full disk and a read-only folder, for real: the server runs as a stdio subprocess in its
own mount namespace, its output directory a 1 MiB tmpfs (``unshare -m``, as root). Each
failure is an answer with a failure_kind and what to do, nothing partial is left, and the
server goes on serving. The test reads the server's view through ``/proc/<pid>/root``."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from phaseo_mcp.emulator import EmulatorHandle

from helpers import call, completed_video, data, server_process, stdio_params, text

UNSHARE = shutil.which("unshare")


def _why_not() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "mounting a tmpfs in a private mount namespace needs root"
    if UNSHARE is None:
        return "unshare(1) is not installed"
    probe = subprocess.run([UNSHARE, "-m", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare -m is refused here: {probe.stderr.decode(errors='replace')[:200]}"
    return None


WHY_NOT = _why_not()
pytestmark = [pytest.mark.anyio, pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]


def _server_on_tmpfs(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, options: str
) -> StdioServerParameters:
    base = stdio_params(emulator.base_url, output_dir, state_dir)
    script = (
        f"mount -t tmpfs -o {options} phaseo-test {shlex.quote(str(output_dir))} "
        f"&& exec {shlex.quote(sys.executable)} -m phaseo_mcp"
    )
    assert UNSHARE is not None
    return StdioServerParameters(command=UNSHARE, args=["-m", "sh", "-c", script], env=base.env)


def _as_the_server_sees(path: Path) -> Path:
    return Path(f"/proc/{server_process().pid}/root") / path.relative_to("/")


async def test_a_full_disk_is_an_answer_and_the_server_keeps_serving(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """ENOSPC mid-download: disk_full with a signed-link next_call; no file, no .part left."""
    async with Client(_server_on_tmpfs(emulator, output_dir, state_dir, "size=1m")) as client:
        big = await completed_video(client, emulator, asset_bytes=2 * 1024 * 1024)
        small = await completed_video(client, emulator)
        full = await call(client, "download_video", {"video_id": big})
        assert full.is_error, text(full)
        assert "Error executing tool" not in text(full)
        error = data(full)
        assert error["failure_kind"] == "disk_full"
        assert "full" in error["error"] and "mode='url'" in error["error"]
        assert str(output_dir) not in text(full)  # no server path in the words
        assert error["next_call"] == {
            "tool": "download_video",
            "arguments": {"video_id": big, "index": 0, "mode": "url"},
        }
        seen = _as_the_server_sees(output_dir)
        assert os.listdir(seen) == []  # nothing at the final path, no temporary file
        link = await call(client, "download_video", error["next_call"]["arguments"])
        assert not link.is_error and data(link)["files"][0]["url"], text(link)
        saved = await call(client, "download_video", {"video_id": small})
        assert not saved.is_error, text(saved)
        info = data(saved)["files"][0]
        assert os.listdir(seen) == [f"{small}.mp4"]
        assert hashlib.sha256((seen / f"{small}.mp4").read_bytes()).hexdigest() == info["sha256"]
    assert os.listdir(output_dir) == []  # the tmpfs lived only in the server's namespace


async def test_a_read_only_output_folder_is_an_answer_that_costs_nothing(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A read-only filesystem: not_writable before any request; a signed link still works."""
    async with Client(_server_on_tmpfs(emulator, output_dir, state_dir, "ro,size=1m")) as client:
        video_id = await completed_video(client, emulator)
        before = emulator.counters.total()
        refused = await call(client, "download_video", {"video_id": video_id})
        assert refused.is_error, text(refused)
        error = data(refused)
        assert error["failure_kind"] == "not_writable"
        assert "read-only" in error["error"]
        assert emulator.counters.total() == before
        assert error["next_call"] == {
            "tool": "download_video",
            "arguments": {"video_id": video_id, "mode": "url"},
        }
        assert os.listdir(_as_the_server_sees(output_dir)) == []
        link = await call(client, "download_video", error["next_call"]["arguments"])
        assert not link.is_error and data(link)["files"][0]["url"], text(link)
