"""configs/fastagent*.config.yaml in the real fast-agent (pinned, its own Python 3.13 venv).

fast-agent's ``passthrough`` model turns ``***CALL_TOOL <tool> <json>`` into exactly that tool
call, so the host's own MCP client runs create → wait → download with no LLM. Each message is
one ``fast-agent go`` run with a temporary HOME; ``--quiet`` prints the tool's result as the
model would see it. The file is edited only as configs/README.md says (checkout path, the
URL's port, ``env`` settings); the key and token come from the environment, as a user's would.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from client_configs import CLIENT_FILES
from helpers import TEST_KEY, TOOL_NAMES, mp4_boxes
from local_servers import HTTP_TOKEN, emulator_jobs, shipped
from mcpuse import fast_agent_binary, install_fast_agent
from uvx import uvx_env

FILES = sorted(name for name, host in CLIENT_FILES.items() if host == "fast-agent")
CREATE = {"model": "google/veo-3.1-lite", "prompt": "A paper boat", "duration": 8}
VIDEO_ID = re.compile(r'"video_id":\s*"([^"]+)"')


@pytest.fixture(scope="module")
def fast_agent() -> Path:
    name, ok, detail = install_fast_agent()
    if not ok and detail.startswith("no Python >= 3.13"):
        pytest.skip(f"fast-agent needs Python >= 3.13: {detail}")
    assert ok, detail
    return fast_agent_binary()


def edited(
    name: str, tmp: Path, emulator_url: str, http_url: str, wheels: Path
) -> tuple[Path, dict[str, str]]:
    """The file after the README's edits, as fastagent.config.yaml in a project folder of a
    HOME whose uv resolves ``uvx phaseo-mcp`` from this checkout's wheels; and the user's
    environment there."""
    env = {
        **uvx_env(tmp, wheels),
        "HOME": str(tmp),
        "PHASEO_API_KEY": TEST_KEY,  # ${PHASEO_API_KEY} in the file
        "PHASEO_MCP_TOKEN": HTTP_TOKEN,  # ${PHASEO_MCP_TOKEN} in the HTTP file
        "COLUMNS": "400",
    }
    data: dict[str, Any] = yaml.safe_load(shipped(name, url=http_url))
    entry = data["mcp"]["servers"]["phaseo"]
    if "command" in entry:  # fast-agent passes the server only what env names
        entry["env"].update(
            PHASEO_OUTPUT_DIR=str(tmp / "videos"),
            PHASEO_STATE_DIR=str(tmp / "state"),
            PHASEO_BASE_URL=emulator_url,
        )
    project = tmp / "project"
    project.mkdir()
    (project / "fastagent.config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return project, env


def call(
    fast_agent: Path, project: Path, env: dict[str, str], tool: str, arguments: dict[str, Any]
) -> str:
    """One passthrough message calling ``tool``; what fast-agent prints (the tool's result)."""
    message = f"***CALL_TOOL phaseo__{tool} {json.dumps(arguments)}"
    done = subprocess.run(
        [str(fast_agent), "go", "--model", "passthrough", "--servers", "phaseo", "--quiet",
         "--message", message],
        cwd=project, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.parametrize("name", FILES)
def test_fast_agent_file_lists_the_tools(
    name: str, fast_agent: Path, emulator_url: str, http_url: str, wheelhouse: Path, tmp_path: Path
) -> None:
    """Every form connects: a call to an unknown tool is answered with our seven tools."""
    project, env = edited(name, tmp_path, emulator_url, http_url, wheelhouse)
    shown = call(fast_agent, project, env, "no_such_tool", {})
    for tool in TOOL_NAMES:
        assert f"phaseo__{tool}" in shown, shown


@pytest.mark.parametrize("name", [n for n in FILES if ".checkout." in n or ".http." in n])
def test_fast_agent_creates_waits_and_downloads(
    name: str, fast_agent: Path, emulator_url: str, http_url: str, wheelhouse: Path, tmp_path: Path
) -> None:
    """create → wait → download through fast-agent's own MCP client: an MP4 on disk (stdio)
    or behind the signed URL the result names (HTTP)."""
    project, env = edited(name, tmp_path, emulator_url, http_url, wheelhouse)
    created = call(fast_agent, project, env, "create_video", CREATE)
    found = VIDEO_ID.search(created)
    assert found, created
    video_id = found.group(1)
    for _ in range(10):
        waited = call(fast_agent, project, env, "wait_for_video", {"video_id": video_id})
        if '"terminal":true' in waited.replace(" ", ""):
            break
    assert emulator_jobs(emulator_url)[video_id] == "completed"
    downloaded = call(fast_agent, project, env, "download_video", {"video_id": video_id})
    result = json.loads(downloaded[downloaded.index("{") :])
    files = result["files"]
    assert files and result["video_id"] == video_id
    if ".http." in name:
        assert result["mode"] == "url"
        response = httpx.get(files[0]["url"], timeout=30)
        assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    else:
        path = Path(files[0]["path"])
        assert path.parent == tmp_path / "videos" and mp4_boxes(path)[0] == "ftyp"
