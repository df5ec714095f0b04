"""The desktop apps' files (Claude Desktop, Cursor, Windsurf, VS Code) driven end to end.

Those apps cannot run here, so each shipped file is loaded by ``mcp-use`` (PyPI; its own venv
in the hosts cache), a client library that reads the same ``mcpServers`` format. The test
changes only what configs/README.md tells a user to edit: the checkout placeholder, the key or
token placeholder (what the app itself expands), the URL's port, and ``PHASEO_OUTPUT_DIR``
(plus ``PHASEO_BASE_URL``/``PHASEO_STATE_DIR``, pointed at the test's emulator) in ``env``;
VS Code's ``servers`` format and Windsurf's ``serverUrl`` go through the README's documented
translation. Every form connects and lists the tools; the checkout and HTTP forms of every app
run create → wait → download, ending with an MP4 on disk (its ``ftyp`` box) or behind the
signed URL the result's text names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_configs import CLIENT_FILES, UNFILLED, fake_checkout, substitute
from helpers import TEST_KEY, TOOL_NAMES, mp4_boxes
from local_servers import HTTP_TOKEN, emulator_jobs, shipped
from mcpuse import DRIVER, install_mcp_remote, install_mcp_use, mcp_remote_dir, mcp_use_python
from uvx import uvx_env

DESKTOP_HOSTS = ("claude-desktop", "cursor", "windsurf", "vscode")
DESKTOP_FILES = sorted(name for name, host in CLIENT_FILES.items() if host in DESKTOP_HOSTS)
RUN_SECONDS = 240.0  # per file
STARTUP_SECONDS = 60.0


def form_of(name: str) -> str:
    return "http" if ".http." in name else "checkout" if ".checkout." in name else "uvx"


# --- what a user edits, and the documented translations ----------------------------------


def translate_vscode(data: dict[str, Any]) -> dict[str, Any]:
    """configs/README.md's rule: ``servers`` → ``mcpServers``, ``inputs`` and ``type`` dropped
    (``${input:…}`` values are what VS Code prompts for, filled by ``substitute``)."""
    servers = {
        name: {k: v for k, v in entry.items() if k != "type"}
        for name, entry in data["servers"].items()
    }
    return {"mcpServers": servers}


def user_edits(name: str, *, checkout: Path, url: str, env: dict[str, str]) -> dict[str, Any]:
    """The file as a user would have it after following configs/README.md."""
    raw = shipped(name, checkout=checkout, url=url)
    data: dict[str, Any] = json.loads(substitute(raw, key=TEST_KEY, token=HTTP_TOKEN))
    if CLIENT_FILES[name] == "vscode":
        data = translate_vscode(data)
    entry = data["mcpServers"]["phaseo"]
    if "serverUrl" in entry:  # Windsurf's spelling of url
        entry["url"] = entry.pop("serverUrl")
    if "command" in entry and entry["command"] != "npx":  # the server's own settings
        entry.setdefault("env", {}).update(env)
    expanded_by_bridge = "${PHASEO_MCP_AUTH_HEADER}"  # mcp-remote fills it from env itself
    text = json.dumps(data).replace(expanded_by_bridge, "")
    assert not UNFILLED.search(text), f"{name}: a placeholder is left: {data}"
    return data


# --- fixtures: the installs once per module (the emulator and HTTP server: conftest.py) ----


@pytest.fixture(scope="module")
def mcp_use() -> Path:
    """mcp-use and the mcp-remote bridge, installed once per machine (failing loudly)."""
    for _, ok, detail in (install_mcp_use(), install_mcp_remote()):
        assert ok, detail
    return mcp_use_python()


# --- the driver: every file in one mcp-use process (importing mcp-use takes seconds) ------


@pytest.fixture(scope="module")
def reports(
    emulator_url: str,
    http_url: str,
    mcp_use: Path,
    wheelhouse: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Each desktop file, edited as the README says, driven by mcp-use: name -> report.

    Every form connects and lists the tools; the checkout and HTTP forms also run
    create → wait → download (the uvx forms start the same server, only slower)."""
    plan, reports, runs = [], {}, tmp_path_factory.mktemp("desktop-runs")
    for name in DESKTOP_FILES:
        run = runs / name
        run.mkdir()
        config = user_edits(
            name,
            checkout=fake_checkout(run),
            url=http_url,
            env={
                "PHASEO_OUTPUT_DIR": str(run / "videos"),
                "PHASEO_BASE_URL": emulator_url,
                "PHASEO_STATE_DIR": str(run / "state"),
            },
        )
        (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
        action = "list" if form_of(name) == "uvx" else "full"
        plan.append({"config": str(run / "config.json"), "server": "phaseo",
                     "action": action, "report": str(run / "report.json")})  # fmt: skip
    (runs / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    assert shutil.which("npx"), "Claude Desktop's HTTP form runs the mcp-remote bridge with npx"
    uv_home = tmp_path_factory.mktemp("uv-home")  # its uv resolves phaseo-mcp from the wheels
    env = {
        **uvx_env(uv_home, wheelhouse),
        "HOME": str(uv_home),
        "MCP_USE_ANONYMIZED_TELEMETRY": "false",  # loopback only
        "npm_config_update_notifier": "false",
        "npm_config_offline": "true",  # npx takes the pinned mcp-remote in its cwd, never the net
    }
    done = subprocess.run(
        [str(mcp_use), str(DRIVER), str(runs / "plan.json")],
        env=env,
        cwd=mcp_remote_dir(),  # where `npx -y mcp-remote` finds the pinned bridge
        capture_output=True,
        timeout=RUN_SECONDS * len(plan),
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    for name, item in zip(DESKTOP_FILES, plan, strict=True):
        reports[name] = json.loads(Path(item["report"]).read_text(encoding="utf-8"))
        reports[name]["videos"] = str(runs / name / "videos")
    return reports


@pytest.mark.parametrize("name", DESKTOP_FILES)
def test_desktop_file_drives_the_server(
    name: str, reports: dict[str, Any], emulator_url: str
) -> None:
    """Loaded by mcp-use as shipped (after the README's edits): connected, the seven tools
    listed; checkout and HTTP forms also create → wait → download a real MP4."""
    report = reports[name]
    assert "error" not in report, report.get("error")
    assert report["servers"] == ["phaseo"]
    assert report["connected"] is True
    assert set(report["tools"]) == TOOL_NAMES
    form = form_of(name)
    if form == "uvx":
        assert "create" not in report
        return
    created, download = report["create"], report["download"]
    assert not created["is_error"], created["text"]
    video_id = created["structured"]["video_id"]
    assert video_id in created["text"]
    assert report["waits"][-1]["structured"]["status"] == "completed"
    assert emulator_jobs(emulator_url)[video_id] == "completed"
    assert not download["is_error"], download["text"]
    files = download["structured"]["files"]
    assert files
    if form == "http":  # signed links by default over HTTP: the text names each whole URL
        assert download["structured"]["mode"] == "url"
        for link in files:
            assert link["url"] in download["text"]
            response = httpx.get(link["url"], timeout=30)
            assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    else:
        for saved in files:
            path = Path(saved["path"])
            assert saved["path"] in download["text"]
            assert str(path.parent) == report["videos"] and mp4_boxes(path)[0] == "ftyp"


def test_each_full_run_made_exactly_one_job(reports: dict[str, Any], emulator_url: str) -> None:
    """One create per create → wait → download run, none from connecting or listing."""
    full = [name for name in DESKTOP_FILES if form_of(name) != "uvx"]
    made = {reports[name]["create"]["structured"]["video_id"] for name in full}
    assert len(made) == len(full)
    assert set(emulator_jobs(emulator_url)) == made
