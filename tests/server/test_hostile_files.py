"""Files under hostile and unlucky use, through the real MCP client: downloads racing for one
name, leftovers of killed processes, awkward names, a full disk and a read-only folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.emulator.assets import sample_bytes
from phaseo_mcp.jobs.paths import temp_job_tag, temp_name

from helpers import call, completed_video, data, text

pytestmark = pytest.mark.anyio
ROUNDS = 4


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


async def _race(client: Client, emulator: EmulatorHandle, calls: list[dict[str, Any]]) -> list[Any]:
    """Run the download calls at once; the emulator answers none until all have asked."""
    gate = emulator.counters["content"] + len(calls)
    emulator.faults.add("content", "slow", count=len(calls), delay=30, until_count=gate)
    results: list[Any] = [None] * len(calls)

    async def one(i: int) -> None:
        results[i] = await call(client, "download_video", calls[i])

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(len(calls)):
                tg.start_soon(one, i)
    assert emulator.counters["content"] == gate  # both passed the "is the name free?" check
    return results


async def test_two_downloads_racing_for_one_name_exactly_one_gets_it(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Different videos, one name, at once: one is saved, the other is told, every round."""
    videos = [
        await completed_video(client, emulator, asset_bytes=20_000),
        await completed_video(client, emulator, asset_bytes=30_000),
    ]
    for round_no in range(ROUNDS):
        name = f"race-{round_no}.mp4"
        results = await _race(client, emulator, [{"video_id": v, "filename": name} for v in videos])
        saved = [r for r in results if not r.is_error]
        refused = [r for r in results if r.is_error]
        assert len(saved) == 1 and len(refused) == 1, [text(r) for r in results]
        kept = data(saved[0])["files"][0]
        on_disk = output_dir / name
        assert kept["path"] == str(on_disk)
        assert (on_disk.stat().st_size, _sha256(on_disk)) == (kept["bytes"], kept["sha256"])
        error = data(refused[0])
        assert error["failure_kind"] == "file_exists"
        assert "appeared" in error["error"] and f"{kept['bytes']} bytes" in error["error"]
        assert "overwrite=true" in error["error"]
        assert error["next_call"]["tool"] == "download_video"
        assert error["next_call"]["arguments"]["filename"] == f"race-{round_no} (2).mp4"
        assert _temp_files(output_dir) == []
    assert sorted(p.name for p in output_dir.iterdir()) == [f"race-{n}.mp4" for n in range(ROUNDS)]


async def test_two_downloads_of_the_same_video_to_one_name_both_report_the_file_on_disk(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Identical bytes: the one that lost the race counts the file as already saved."""
    video_id = await completed_video(client, emulator, asset_bytes=25_000)
    for round_no in range(ROUNDS):
        name = f"same-{round_no}.mp4"
        args = {"video_id": video_id, "filename": name}
        results = await _race(client, emulator, [args, args])
        assert not any(r.is_error for r in results), [text(r) for r in results]
        files = [data(r)["files"][0] for r in results]
        assert sorted(f["transferred"] for f in files) == [False, True]
        for f in files:
            assert f["sha256"] == _sha256(output_dir / name) and f["bytes"] == 25_000
        assert _temp_files(output_dir) == []


class _LockHolder:
    """Another process writing a temporary file: it holds the file's lock until stopped."""

    def __init__(self, path: Path) -> None:
        code = (
            "import fcntl, os, sys\n"
            f"fd = os.open({str(path)!r}, os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"held\n"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


async def test_leftover_temporary_files_are_removed_and_never_count_as_saved(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """A killed download's .part: gone at the job's next download (even when complete, it is
    not taken for the saved file); others' go after an hour; a live writer's are kept."""
    video_id = await completed_video(client, emulator)
    final = f"{video_id}.mp4"
    an_hour_and_more_ago = time.time() - 3700
    planted: dict[str, Path] = {}
    for label, name, job, old in [
        ("same job, complete bytes", final, video_id, False),
        ("same job, another name", "mine.mp4", video_id, False),
        ("same job, written now", "busy.mp4", video_id, False),
        ("other job, stale", "old.mp4", "G-other", True),
        ("other job, recent", "recent.mp4", "G-other", False),
        ("other job, stale, written now", "held.mp4", "G-other", True),
    ]:
        path = output_dir / temp_name(name, job)
        path.write_bytes(sample_bytes())
        if old:
            os.utime(path, (an_hour_and_more_ago, an_hour_and_more_ago))
        planted[label] = path
    users_own = output_dir / "notes.part"  # the user's file, not one of ours
    users_own.write_bytes(b"mine")
    os.utime(users_own, (an_hour_and_more_ago, an_hour_and_more_ago))
    holders = [
        _LockHolder(planted["same job, written now"]),
        _LockHolder(planted["other job, stale, written now"]),
    ]
    try:
        before = emulator.counters["content"]
        result = await call(client, "download_video", {"video_id": video_id})
        assert not result.is_error, text(result)
        assert data(result)["files"][0]["transferred"] is True
        assert emulator.counters["content"] == before + 1
        remaining = {p.name for p in output_dir.iterdir()}
    finally:
        for holder in holders:
            holder.release()
    expected = {
        final,
        "notes.part",
        planted["same job, written now"].name,
        planted["other job, recent"].name,
        planted["other job, stale, written now"].name,
    }
    assert remaining == expected
    assert (output_dir / final).read_bytes() == sample_bytes()
    assert all(temp_job_tag(n) is not None for n in expected - {final, "notes.part"})


async def test_awkward_names_through_the_client(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """NFC, device names, the byte limit and a contradicting extension, as a caller meets them."""
    video_id = await completed_video(client, emulator)

    async def download(filename: str) -> CallToolResult:
        return await call(client, "download_video", {"video_id": video_id, "filename": filename})

    decomposed = unicodedata.normalize("NFD", "café.mp4")
    assert decomposed != "café.mp4"
    saved = await download(decomposed)
    assert not saved.is_error, text(saved)
    assert data(saved)["files"][0]["path"] == str(output_dir / "café.mp4")
    assert os.listdir(os.fsencode(output_dir)) == ["café.mp4".encode()]  # composed on disk

    corrected = await download("clip.webm")
    assert not corrected.is_error, text(corrected)
    info = data(corrected)["files"][0]
    assert info["path"] == str(output_dir / "clip.mp4") and ".webm" in info["note"]
    assert ".webm" in data(corrected)["next_step"] and ".webm" in text(corrected)
    assert not (output_dir / "clip.webm").exists()

    longest = "é" * 111 + "a.mp4"  # 227 bytes: with the temporary suffix, 255
    assert not (await download(longest)).is_error
    assert (output_dir / longest).is_file()

    before = emulator.counters.total()
    for bad, says in [
        ("é" * 112 + ".mp4", "bytes"),
        ("COM¹.mp4", "reserved"),
        ("lpt³", "reserved"),
        ("CON .mp4", "reserved"),
        ("nul.tar.mp4", "reserved"),
        ("Aux", "reserved"),
    ]:
        refused = await download(bad)
        assert refused.is_error and says in text(refused), (bad, text(refused))
        assert data(refused)["failure_kind"] == "invalid_input"
    assert emulator.counters.total() == before  # refused before any request
    assert sorted(os.listdir(output_dir)) == sorted(["café.mp4", "clip.mp4", longest])
