"""The official MCP Inspector CLI (npm @modelcontextprotocol/inspector@2.12.0) against our server.

It lists the tools and calls get_video_status over stdio (the Inspector spawns
`python -m phaseo_mcp`) and over streamable HTTP (a real uvicorn server with a bearer token),
in both protocol eras. ``python3 dev.py test`` installs the Inspector into
``.cache/inspector``; without node or the package these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import PINNED_CONFIRMATION, TEST_KEY, TIME_SCALE, TOOL_NAMES, data, make_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from httpkit import SUNRISE, serve_phaseo  # noqa: E402

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
VERSION = "2.12.0"
TOKEN = "inspector-token-0123456789abcdef"
TOOLS = TOOL_NAMES
RUN_TIMEOUT = 120.0


@pytest.fixture
def settings(emulator: EmulatorHandle, output_dir: Path, state_dir: Path) -> Settings:
    """The conftest's settings with the price confirmation pinned off (a real host)."""
    return make_settings(emulator.base_url, output_dir, state_dir, confirm_above_usd=None)


def inspector() -> Path:
    """The installed Inspector CLI, or skip with what is missing."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the MCP Inspector CLI needs it")
    cache = Path(os.environ.get("PHASEO_MCP_CACHE", ROOT / ".cache"))
    package = cache / "inspector" / "node_modules" / "@modelcontextprotocol" / "inspector"
    binary = cache / "inspector" / "node_modules" / ".bin" / "mcp-inspector"
    if not binary.exists():
        pytest.skip(
            f"the MCP Inspector is not installed in {cache / 'inspector'} "
            "(python3 dev.py test installs it with npm)"
        )
    installed = json.loads((package / "package.json").read_text())["version"]
    assert installed == VERSION, f"expected Inspector {VERSION}, found {installed}"
    return binary


async def run_inspector(args: list[str], home: Path) -> tuple[int, dict[str, Any], str]:
    """Run the Inspector CLI; its exit code, its JSON output and its stderr."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),  # it creates ~/.mcp-inspector/storage
        "npm_config_loglevel": "error",
        "NO_COLOR": "1",
    }
    with anyio.fail_after(RUN_TIMEOUT):
        done = await anyio.run_process(
            [str(inspector()), "--cli", *args, "-q", "--format", "json"],
            env=env,
            cwd=str(home),
            check=False,
            stdin=subprocess.DEVNULL,
        )
    out = done.stdout.decode(errors="replace").strip()
    err = done.stderr.decode(errors="replace")
    try:
        parsed = json.loads(out) if out else {}
    except ValueError:
        parsed = {"unparsed": out}
    return done.returncode, parsed, err


def stdio_target(settings: Settings) -> list[str]:
    env = {
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_BASE_URL": settings.base_url,
        "PHASEO_OUTPUT_DIR": str(settings.output_dir),
        "PHASEO_STATE_DIR": str(settings.state_dir),
        "PHASEO_TIME_SCALE": str(TIME_SCALE),
        "PHASEO_TESTING_ZERO_RETRY_WAITS": "1",
        "PHASEO_LOG_LEVEL": "WARNING",
        **PINNED_CONFIRMATION,
    }
    flags = [item for name, value in env.items() for item in ("-e", f"{name}={value}")]
    return [*flags, "--cwd", str(ROOT), sys.executable, "-m", "phaseo_mcp"]


async def make_job(server: MCPServer, emulator: EmulatorHandle) -> str:
    emulator.plan_next_job(JobPlan(seconds=1e6))
    async with Client(server) as client:
        created = await client.call_tool("create_video", dict(SUNRISE))
    assert not created.is_error
    return str(data(created)["video_id"])


def tool_names(output: dict[str, Any]) -> set[str]:
    return {t["name"] for t in output["result"]["tools"]}


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_inspector_lists_tools_and_gets_status_over_stdio(
    settings: Settings, server: MCPServer, emulator: EmulatorHandle, tmp_path: Path, era: str
) -> None:
    """`inspector --cli python -m phaseo_mcp`: tools/list and get_video_status succeed."""
    inspector()
    video_id = await make_job(server, emulator)
    target = stdio_target(settings)
    code, listed, err = await run_inspector(
        [*target, "--protocol-era", era, "--method", "tools/list"], tmp_path
    )
    assert code == 0, err
    assert tool_names(listed) == TOOLS
    code, called, err = await run_inspector(
        [*target, "--protocol-era", era, "--method", "tools/call",
         "--tool-name", "get_video_status", "--tool-args-json", json.dumps({"video_id": video_id})],
        tmp_path,
    )  # fmt: skip
    assert code == 0, err
    result = called["result"]
    assert result.get("isError") in (None, False)
    assert result["structuredContent"]["video_id"] == video_id
    assert result["structuredContent"]["status"] in ("queued", "processing")


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_inspector_lists_tools_and_gets_status_over_http(
    settings: Settings, server: MCPServer, emulator: EmulatorHandle, tmp_path: Path, era: str
) -> None:
    """`inspector --cli http://…/mcp --header Authorization…`: tools/list and get_video_status."""
    inspector()
    video_id = await make_job(server, emulator)
    async with serve_phaseo(settings, tokens=[TOKEN]) as served:
        target = [served.url, "--header", f"Authorization: Bearer {TOKEN}", "--protocol-era", era]
        code, listed, err = await run_inspector([*target, "--method", "tools/list"], tmp_path)
        assert code == 0, err
        assert tool_names(listed) == TOOLS
        code, called, err = await run_inspector(
            [*target, "--method", "tools/call", "--tool-name", "get_video_status",
             "--tool-args-json", json.dumps({"video_id": video_id})],
            tmp_path,
        )  # fmt: skip
        assert code == 0, err
        assert called["result"]["structuredContent"]["video_id"] == video_id
        code, _, err = await run_inspector(
            [served.url, "--stored-auth-only", "--method", "tools/list"], tmp_path
        )
        assert code != 0  # no token: refused


async def test_inspector_sees_a_tool_error_as_a_tool_error(
    settings: Settings, tmp_path: Path
) -> None:
    """An unknown video id is a clean tool error for the Inspector (exit 5, tool_is_error)."""
    inspector()
    code, _, err = await run_inspector(
        [*stdio_target(settings), "--method", "tools/call", "--tool-name", "get_video_status",
         "--tool-args-json", json.dumps({"video_id": "video_doesnotexist"})],
        tmp_path,
    )  # fmt: skip
    assert code == 5, err
    assert "tool_is_error" in err
