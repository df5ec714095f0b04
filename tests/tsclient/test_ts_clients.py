"""The official TypeScript MCP clients drive phaseo-mcp: 1.x ``@modelcontextprotocol/sdk`` (what
most shipping hosts embed) and 2.x ``@modelcontextprotocol/client`` (in both of its protocol
eras), each over stdio, stateful HTTP and stateless HTTP.

``drive.mjs`` calls every tool, the error results, progress with and without
``resetTimeoutOnProgress``, and the ``phaseo://videos/{video_id}`` resource, and reports every
check. A run passes only with every check passed, zero schema-validation throws (both SDKs
validate structuredContent against the tool's outputSchema) and zero dropped progress
notifications (each one that reached the client's transport reached the call's onprogress).
The SDKs are pinned in ``sdk-v1``/``sdk-v2`` with committed lock files and installed once into
``.cache/tsclient`` (``python3 dev.py test`` does it; a missing install is made here).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from phaseo_mcp.emulator import EmulatorHandle

from helpers import PINNED_CONFIRMATION, TEST_KEY, mp4_boxes

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from httpkit import Replica, launch, server_env, terminate  # noqa: E402
from tsclient_install import install, pinned, sdk_modules  # noqa: E402

pytestmark = pytest.mark.anyio
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "tsclient-token-0123456789abcdef"
RUN_TIMEOUT = 300.0
ERAS = {"sdk-v1": ["legacy"], "sdk-v2": ["legacy", "auto"]}
# The server runs slower than the emulator, so its polls (and progress notifications) are
# 200 ms of real time apart: the timings drive.mjs relies on (see its comments).
SERVER_TIME_SCALE = 10
UNKNOWN_TOKEN = "progress notification for an unknown token"
UNKNOWN_ID = "response for an unknown message ID"


def node_modules(sdk: str) -> Path:
    """The pinned SDK's node_modules, installed on first use; skip only without node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the TypeScript client tests")
    modules = sdk_modules(sdk)
    if not modules.exists():
        _, ok, detail = install(sdk)
        assert ok, f"npm ci of {'@'.join(pinned(sdk))} failed:\n{detail}"
    package, version = pinned(sdk)
    found = json.loads((modules / package / "package.json").read_text())["version"]
    assert found == version, f"expected {package}@{version}, found {found}"
    return modules


async def run_driver(sdk: str, config: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run drive.mjs against the pinned SDK; its JSON report."""
    run_dir = work / f"run-{sdk}"
    run_dir.mkdir()
    (run_dir / "node_modules").symlink_to(node_modules(sdk), target_is_directory=True)
    for script in ("drive.mjs", "wiretap.mjs"):
        shutil.copy2(HERE / script, run_dir / script)
    (run_dir / "config.json").write_text(json.dumps(config))
    report_path = run_dir / "report.json"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "NO_COLOR": "1"}
    with anyio.fail_after(RUN_TIMEOUT):
        done = await anyio.run_process(
            ["node", "drive.mjs", "config.json", str(report_path)],
            cwd=str(run_dir),
            env=env,
            check=False,
        )
    stderr = done.stderr.decode(errors="replace")
    assert report_path.exists(), f"drive.mjs wrote no report (exit {done.returncode}):\n{stderr}"
    report: dict[str, Any] = json.loads(report_path.read_text())
    report["node_stderr"] = stderr[-4000:]
    return report


def assert_report(report: dict[str, Any], eras: list[str]) -> None:
    failed = [c for c in report["checks"] if not c["ok"]]
    context = json.dumps({k: report[k] for k in ("client_errors", "stderr_tail", "node_stderr")})
    assert not failed, json.dumps(failed, indent=1) + "\n" + context
    assert report["validation_throws"] == [], report["validation_throws"]
    assert report["ok"] is True
    assert set(report["eras"]) == set(eras)
    # Every era ran the whole battery (a return half-way would leave checks out).
    per_era = {era: sum(c["name"].startswith(f"{era}:") for c in report["checks"]) for era in eras}
    assert len(set(per_era.values())) == 1 and min(per_era.values()) >= 40, per_era

    counted = report["progress"]
    assert len(counted) == 2 * len(eras), counted
    for entry in counted:
        assert entry["raw"] is not None, f"no progress token seen for {entry['call']}"
        # sent by the server == reached the client's transport == reached onprogress
        assert entry["wire"] == entry["raw"] == entry["delivered"] > 0, entry
        values = entry["values"]
        assert all(a < b for a, b in zip(values, values[1:], strict=False)), entry
        assert all(t == 100 for t in entry["totals"]), entry
    assert report["dropped_notifications"] == 0
    # The only tolerated client errors: stragglers of the deliberately timed-out call (its
    # progress, or its late answer over HTTP), which the SDK reports to onerror and drops.
    unexpected = [e for e in report["client_errors"] if not _straggler(e, report["eras"])]
    assert unexpected == [], unexpected


def _straggler(error: str, eras: dict[str, Any]) -> bool:
    era = error.split(":", 1)[0]
    timed_out = eras.get(era, {}).get("timed_out") or {}
    token, request_id = (json.dumps(timed_out.get(k)) for k in ("token", "request_id"))
    return (UNKNOWN_TOKEN in error and f'"progressToken":{token}' in error) or (
        UNKNOWN_ID in error and f'"id":{request_id},' in error
    )


def stdio_server(emulator: EmulatorHandle, output_dir: Path, state_dir: Path) -> dict[str, Any]:
    return {
        "command": sys.executable,
        "args": ["-m", "phaseo_mcp"],
        "cwd": str(ROOT),
        "env": {
            "PHASEO_API_KEY": TEST_KEY,
            "PHASEO_BASE_URL": emulator.base_url,
            "PHASEO_OUTPUT_DIR": str(output_dir),
            "PHASEO_STATE_DIR": str(state_dir),
            "PHASEO_TIME_SCALE": str(SERVER_TIME_SCALE),
            "PHASEO_TESTING_ZERO_RETRY_WAITS": "1",
            "PHASEO_LOG_LEVEL": "INFO",
            **PINNED_CONFIRMATION,
        },
    }


@pytest.mark.parametrize("transport", ["stdio", "http", "http-stateless"])
@pytest.mark.parametrize("sdk", ["sdk-v1", "sdk-v2"])
async def test_typescript_client_drives_every_tool(
    sdk: str,
    transport: str,
    emulator: EmulatorHandle,
    output_dir: Path,
    state_dir: Path,
    tmp_path: Path,
) -> None:
    """A pinned TypeScript SDK client runs every tool, error, progress mode and resource with
    no failed check, no schema-validation throw and no dropped progress notification."""
    eras = ERAS[sdk]
    node_modules(sdk)
    config: dict[str, Any] = {
        "sdk": sdk.removeprefix("sdk-"),
        "eras": eras,
        "transport": "stdio" if transport == "stdio" else "http",
        "emulator_root": emulator.root_url,
        "output_dir": str(output_dir),
        "download_mode": "file" if transport == "stdio" else "url",
        "tag": f"{sdk}-{transport}",
        "deadline_ms": int((RUN_TIMEOUT - 30) * 1000),
    }
    replica: Replica | None = None
    try:
        if transport == "stdio":
            config["server"] = stdio_server(emulator, output_dir, state_dir)
        else:
            env = server_env(
                emulator.base_url, output_dir, state_dir, tokens=TOKEN, extra=PINNED_CONFIRMATION
            )
            env["PHASEO_TIME_SCALE"] = str(SERVER_TIME_SCALE)
            flags = ["--stateless"] if transport == "http-stateless" else []
            replica = await launch(env, tmp_path / "server.log", flags)
            config.update(url=replica.url, token=TOKEN)
        report = await run_driver(sdk, config, tmp_path)
    finally:
        if replica is not None:
            await terminate(replica)
    assert_report(report, eras)
    # Refused calls cost nothing: one POST per accepted create (two per era), no more.
    assert emulator.counters["create"] == 2 * len(eras)
    if transport == "stdio":
        saved = sorted(output_dir.glob("*.mp4"))
        assert [p.name for p in saved] == sorted(f"{sdk}-{transport}-{era}.mp4" for era in eras)
        assert all("moov" in mp4_boxes(p) for p in saved)
    else:
        assert replica is not None
        assert "Traceback" not in replica.output()
        assert list(output_dir.iterdir()) == []  # url mode: nothing saved on the server's host
