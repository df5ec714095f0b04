"""Small test helpers shared by the server tests."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import psutil
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from phaseo_mcp.config import RetryPolicy, Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

TEST_KEY = "phaseo_v1_sk_test01_s3cretvalue0123456789"
OTHER_KEY = "phaseo_v1_sk_test02_othersecret9876543210"
TIME_SCALE = 100.0
TOOL_NAMES = frozenset(
    {
        "create_video",
        "get_video_status",
        "wait_for_video",
        "download_video",
        "list_videos",
        "delete_video",
        "list_video_models",
    }
)
SUNRISE = {"model": "google/veo-3.1-lite", "prompt": "sunrise over a lake", "duration": 8}


def stdio_env(base_url: str, output_dir: Path, state_dir: Path, **env: str) -> dict[str, str]:
    """What a stdio phaseo-mcp needs against ``base_url``: the key, folders, test time scale."""
    return {
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_BASE_URL": base_url,
        "PHASEO_OUTPUT_DIR": str(output_dir),
        "PHASEO_STATE_DIR": str(state_dir),
        "PHASEO_TIME_SCALE": str(TIME_SCALE),
        "PHASEO_TESTING_ZERO_RETRY_WAITS": "1",
        **env,
    }


def stdio_params(
    base_url: str, output_dir: Path, state_dir: Path, **env: str
) -> StdioServerParameters:
    """phaseo-mcp as a stdio subprocess against ``base_url``, at the test time scale."""
    values = stdio_env(base_url, output_dir, state_dir, **env)
    return StdioServerParameters(command=sys.executable, args=["-m", "phaseo_mcp"], env=values)


def make_settings(base_url: str, output_dir: Path, state_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": TEST_KEY,
        "base_url": base_url,
        "output_dir": output_dir,
        "state_dir": state_dir,
        "time_scale": TIME_SCALE,
        "retry": RetryPolicy(zero_waits=True),
        "log_level": "DEBUG",
    }
    values.update(overrides)
    return Settings.model_validate(values)


async def call(client: Client, tool: str, args: dict[str, Any], **kw: Any) -> CallToolResult:
    return await client.call_tool(tool, args, **kw)


def data(result: CallToolResult) -> dict[str, Any]:
    """structuredContent, or for an error result the JSON block that carries its fields."""
    if result.structured_content is not None:
        return dict(result.structured_content)
    assert result.is_error and len(result.content) >= 2, result.content
    return dict(json.loads(getattr(result.content[-1], "text", "")))


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def mp4_boxes(path: Path) -> list[str]:
    """Top-level ISO-BMFF box types of a file, refusing anything malformed."""
    raw = path.read_bytes()
    boxes: list[str] = []
    offset = 0
    while offset < len(raw):
        if offset + 8 > len(raw):
            raise ValueError("truncated box header")
        size, kind = struct.unpack(">I4s", raw[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", raw[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(raw) - offset
        if size < 8 or offset + size > len(raw):
            raise ValueError(f"bad box size {size} at {offset}")
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def assert_mp4(path: Path) -> None:
    """A whole MP4 is at ``path``: its first box ``ftyp``, a ``moov`` among the rest."""
    assert path.is_file(), f"no file at {path}"
    boxes = mp4_boxes(path)
    assert boxes[0] == "ftyp" and "moov" in boxes, boxes


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


async def wait_terminal(client: Client, video_id: str) -> dict[str, Any]:
    """wait_for_video until the job is terminal (bounded in calls and in time)."""
    with anyio.fail_after(30):
        for _ in range(20):
            result = await call(client, "wait_for_video", {"video_id": video_id})
            assert not result.is_error, text(result)
            job = data(result)
            if job["terminal"]:
                return job
    raise AssertionError("the job never reached a terminal state")


def server_process() -> psutil.Process:
    """The one phaseo_mcp server started below this test process (stdio subprocess)."""
    for child in psutil.Process().children(recursive=True):
        try:
            if "phaseo_mcp" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    raise AssertionError("server process not found")


async def completed_video(client: Client, emulator: EmulatorHandle, **plan: Any) -> str:
    """A new job (planned with ``plan``), waited for until it completed; its video_id."""
    emulator.plan_next_job(JobPlan(**plan))
    created = await call(client, "create_video", {**SUNRISE, "allow_duplicate": True})
    assert not created.is_error, text(created)
    video_id = str(data(created)["video_id"])
    assert (await wait_terminal(client, video_id))["status"] == "completed"
    return video_id


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it lingers; always reaps."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def written_journal(state_dir: Path, rows: int = 200) -> Path:
    """A real SQLite journal with enough rows to span many pages, closed (WAL checkpointed)."""
    from phaseo_mcp.jobs.journal_open import open_journal

    journal = open_journal(journal_url=None, state_dir=state_dir)
    try:
        for i in range(rows):
            journal.claim(
                key_fingerprint="k",
                fingerprint=f"{i:064d}",
                base_url="https://gateway.test/v1",
                request={"model": "m", "prompt": f"prompt {i} " + "x" * 400},
                window_seconds=600,
            )
    finally:
        journal.close()
    return state_dir / "journal.sqlite3"


def damage_journal(state_dir: Path, how: str) -> Path:
    """Make ``state_dir``'s journal random bytes or a truncated copy of a real one."""
    path = state_dir / "journal.sqlite3"
    if how == "random-bytes":
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(64 * 1024))
    else:
        size = written_journal(state_dir).stat().st_size
        with path.open("r+b") as handle:
            handle.truncate(size // 3)
    return path


def raw_initialize(request_id: int | str = 1) -> dict[str, Any]:
    """An ``initialize`` request, for tests that speak JSON-RPC without the MCP client."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }


INITIALIZED: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/initialized"}
