"""The MCP Inspector CLI (2.12.0) drives the Tasks extension: on the 2026-07-28 era its
tools/call declares the extension and follows create_video's task to the saved video; the
legacy era gets no task. (Its one-shot CLI refuses ``--method tasks/get``/``tasks/cancel``:
"Unsupported method"; those are covered with the SDK client in tests/server/test_tasks.py.)"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_inspector_cli import run_inspector, stdio_target

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import SUNRISE, assert_mp4

pytestmark = pytest.mark.anyio


def _tasks(state_dir: Path) -> list[str]:
    with sqlite3.connect(state_dir / "journal.sqlite3") as conn:
        return [row[0] for row in conn.execute("SELECT video_id FROM tasks")]


@pytest.mark.parametrize("era", ["modern", "legacy"])
async def test_inspector_create_video_follows_the_task_to_the_saved_file(
    settings: Settings, emulator: EmulatorHandle, tmp_path: Path, era: str
) -> None:
    """Modern era: one tools/call returns the finished, saved video (through a task the
    journal recorded); legacy era: the ordinary immediate answer, no task."""
    code, called, err = await run_inspector(
        [*stdio_target(settings), "--protocol-era", era, "--method", "tools/call",
         "--tool-name", "create_video", "--tool-args-json", json.dumps(SUNRISE)],
        tmp_path,
    )  # fmt: skip
    assert code == 0, err
    job = called["result"]["structuredContent"]
    if era == "legacy":
        assert job["status"] == "queued" and _tasks(settings.state_dir) == []
        return
    assert job["status"] == "completed" and _tasks(settings.state_dir) == [job["video_id"]]
    assert_mp4(Path(job["files"][0]["path"]))
    assert emulator.counters["create"] == 1 and emulator.counters["content"] == 1
