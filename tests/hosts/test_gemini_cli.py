"""Gemini CLI (the real ``gemini`` program, pinned in pins.py) loads every shipped Gemini CLI
config as a user would, reports the server connected, lists its tools, and runs create → wait →
download through its own MCP client against the gateway emulator.

The model is :class:`model_gemini.GeminiModel`, a scripted stand-in on loopback reached through
``GOOGLE_GEMINI_BASE_URL``. Each test has its own HOME, so no real Gemini CLI configuration is
read or written. What the configs README asks of a user is done and nothing more: the file is
the project's ``.gemini/settings.json`` with the checkout path (or the HTTP server's URL) filled
in, the key and token are in the shell's environment, and the folder is trusted (what Gemini
CLI's trust prompt records in ``~/.gemini/trustedFolders.json``). The user-level settings
choose API-key sign-in and turn off auto-update and usage statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import TOOL_NAMES, mp4_boxes
from hostkit import (
    FINAL_PREFIX,
    LISTED,
    PROMPT,
    SERVER,
    Backend,
    Script,
    config_text,
    emulator_process,
    host_env,
    require_host,
    run_host,
    shell_for,
)
from model_gemini import GeminiModel

pytestmark = pytest.mark.slow
TOKEN = "gemini-cli-host-token-0123456789"
DEFAULT_URL = "http://127.0.0.1:8000/mcp"  # what the http file points at; the README says
# to put the server's own URL there
FILES = {
    "checkout": "gemini.checkout.settings.json",
    "uvx": "gemini.settings.json",
    "http": "gemini.http.settings.json",
}
USER_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    with emulator_process(tmp_path / "emulator") as running:
        yield running


@pytest.fixture
def gemini() -> Path:
    return require_host("gemini-cli")


def project_with(form: str, home: Path, project: Path, url: str = "") -> None:
    """The shipped file as the project's .gemini/settings.json, the folder trusted."""
    (project / ".gemini").mkdir(parents=True)
    text = config_text(FILES[form])
    if url:
        text = text.replace(DEFAULT_URL, url)
    (project / ".gemini" / "settings.json").write_text(text)
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(USER_SETTINGS))
    trusted = {str(project): "TRUST_FOLDER"}
    (home / ".gemini" / "trustedFolders.json").write_text(json.dumps(trusted))


def gemini_env(home: Path, model: GeminiModel, backend: Backend, **extra: str) -> dict[str, str]:
    return host_env(
        home,
        GOOGLE_GEMINI_BASE_URL=model.base_url,
        GEMINI_API_KEY="scripted-stand-in-key",
        # no second node process just to raise the heap limit: 2 s less per command here
        GEMINI_CLI_NO_RELAUNCH="1",
        **backend.server_env(),
        **extra,
    )


def assert_connected(gemini: Path, env: dict[str, str], cwd: Path) -> None:
    """``gemini mcp list`` — the health check the configs README names."""
    got = run_host([gemini, "mcp", "list"], env, cwd)
    assert got.returncode == 0, got.stdout + got.stderr
    output = got.stdout + got.stderr  # it prints the list on stderr
    line = next((ln for ln in output.splitlines() if f"{SERVER}:" in ln), "")
    assert "Connected" in line, output


def ask(gemini: Path, env: dict[str, str], cwd: Path) -> dict[str, object]:
    """One non-interactive turn with tool calls approved; its JSON result."""
    done = run_host([gemini, "-p", PROMPT, "--yolo", "--output-format", "json"], env, cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_checkout_settings_run_create_wait_download(
    gemini: Path, backend: Backend, tmp_path: Path
) -> None:
    """`.gemini/settings.json` (checkout form): `gemini mcp list` says Connected, and one prompt
    runs create → wait → download through Gemini CLI's MCP client; the model saw each result
    (the video id it waits on came back through the host) and the MP4 is on disk."""
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    project_with("checkout", home, project)
    with GeminiModel(Script(on_running=backend.advance)) as model:
        env = gemini_env(home, model, backend)
        assert_connected(gemini, env, project)
        answer = ask(gemini, env, project)
    calls = [c.tool for c in model.script.calls]
    assert calls[0] == "create_video" and calls[-1] == "download_video", (calls, answer)
    assert set(calls[1:-1]) == {"wait_for_video"}, calls
    # the first wait ran out its budget, the clock moved on, and a later wait saw it complete
    assert model.script.statuses[0] in ("queued", "processing"), model.script.statuses
    assert model.script.statuses[-1] == "completed", model.script.statuses
    videos = backend.videos()
    assert len(videos) == 1, (videos, answer)
    video_id = videos[0].stem
    assert all(c.arguments.get("video_id") == video_id for c in model.script.calls[1:])
    assert mp4_boxes(videos[0])[0] == "ftyp"
    assert str(answer["response"]).startswith(FINAL_PREFIX), answer
    assert str(videos[0]) in str(answer["response"])  # the saved path reached the model


@pytest.mark.parametrize("form", ["uvx", "http"])
def test_settings_connect_and_list_tools(
    gemini: Path,
    backend: Backend,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    form: str,
) -> None:
    """The uvx and HTTP settings files: `gemini mcp list` says Connected and the model is
    offered all seven tools."""
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    home.mkdir()
    shell = shell_for(form, backend, home, TOKEN, tmp_path_factory)
    with GeminiModel(Script(full=False)) as model, shell as extra:
        project_with(form, home, project, extra.get("PHASEO_MCP_URL", ""))
        env = gemini_env(home, model, backend, **extra)
        assert_connected(gemini, env, project)
        answer = ask(gemini, env, project)
    assert model.script.offered == TOOL_NAMES, (model.paths(), answer)
    assert str(answer["response"]).startswith(LISTED), answer
