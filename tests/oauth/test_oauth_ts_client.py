"""The official TypeScript MCP SDK's OAuth support signs in against the real OpenID
provider and uses phaseo-mcp in ``--auth oauth`` mode, as a host embedding it would."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from anyio.streams.text import TextReceiveStream
from oauthkit import REDIRECT_URI, SCOPE, Idp, code_of, serve_oauth, sign_in

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "tsclient"))
from tsclient_install import install, pinned, sdk_modules  # noqa: E402

pytestmark = pytest.mark.anyio
RUN_TIMEOUT = 120.0


def ts_sdk() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the TypeScript client tests")
    modules = sdk_modules("sdk-v1")
    if not modules.exists():
        _, ok, detail = install("sdk-v1")
        assert ok, f"npm ci of {'@'.join(pinned('sdk-v1'))} failed:\n{detail}"
    return modules


async def drive(url: str, login: str, work: Path) -> dict[str, Any]:
    """Run oauth_drive.mjs; sign ``login`` in when it asks; its RESULT."""
    run_dir = work / "ts-oauth"
    run_dir.mkdir()
    (run_dir / "node_modules").symlink_to(ts_sdk(), target_is_directory=True)
    shutil.copy2(HERE / "oauth_drive.mjs", run_dir / "oauth_drive.mjs")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "NO_COLOR": "1"}
    command = ["node", "oauth_drive.mjs", url, REDIRECT_URI, SCOPE]
    with anyio.fail_after(RUN_TIMEOUT):
        async with await anyio.open_process(command, cwd=run_dir, env=env) as proc:
            assert proc.stdout is not None and proc.stdin is not None
            buffered = ""
            async for chunk in TextReceiveStream(proc.stdout):
                buffered += chunk
                while "\n" in buffered:
                    line, buffered = buffered.split("\n", 1)
                    if line.startswith("AUTHORIZE "):
                        redirect = await sign_in(line.removeprefix("AUTHORIZE "), login)
                        await proc.stdin.send(f"CODE {code_of(redirect)['code']}\n".encode())
                    elif line.startswith("RESULT "):
                        return dict(json.loads(line.removeprefix("RESULT ")))
            errors = b""
            if proc.stderr is not None:
                with anyio.move_on_after(5):
                    async for part in proc.stderr:
                        errors += part
    raise AssertionError(f"oauth_drive.mjs gave no result: {errors.decode(errors='replace')}")


async def test_typescript_sdk_client_signs_in_and_calls_tools(
    settings: Settings, emulator: EmulatorHandle, idp: Idp, tmp_path: Path
) -> None:
    """The TS SDK is refused first (401), discovers the provider from the metadata, registers
    itself, runs PKCE authorization (our form posts), gets a token for this resource, and
    then lists models, creates a video and lists it."""
    async with serve_oauth(settings, idp) as served:
        result = await drive(served.url, "carol", tmp_path)
    assert result["first_connect"] == "unauthorized", result
    assert result["registered"] is True
    calls = result["calls"]
    assert all(not c["isError"] for c in calls.values()), calls
    video_id = calls["create_video"]["structured"]["video_id"]
    assert [v["video_id"] for v in calls["list_videos"]["structured"]["videos"]] == [video_id]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == served.url and claims["sub"] == "carol" and claims["iss"] == idp.issuer
    assert emulator.counters["create"] == 1
