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
from pathlib import Path

import pytest

from helpers import TOOL_NAMES
from hostkit import LISTED, PROMPT, SERVER, Script, User, assert_full_run
from local_servers import require_host, run_host, shipped
from model_gemini import GeminiModel

pytestmark = pytest.mark.slow
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
def gemini() -> Path:
    return require_host("gemini-cli")


def project_with(form: str, home: Path, project: Path, url: str = "") -> None:
    """The shipped file as the project's .gemini/settings.json, the folder trusted."""
    (project / ".gemini").mkdir(parents=True)
    (project / ".gemini" / "settings.json").write_text(shipped(FILES[form], url=url))
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(USER_SETTINGS))
    trusted = {str(project): "TRUST_FOLDER"}
    (home / ".gemini" / "trustedFolders.json").write_text(json.dumps(trusted))


def gemini_env(user: User, model: GeminiModel) -> dict[str, str]:
    return user.env(
        GOOGLE_GEMINI_BASE_URL=model.base_url,
        GEMINI_API_KEY="scripted-stand-in-key",
        # no second node process just to raise the heap limit: 2 s less per command here
        GEMINI_CLI_NO_RELAUNCH="1",
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


def test_checkout_settings_run_create_wait_download(gemini: Path, user: User) -> None:
    """`.gemini/settings.json` (checkout form): `gemini mcp list` says Connected, and one prompt
    runs create → wait → download through Gemini CLI's MCP client; the model saw each result
    (the video id it waits on came back through the host) and the MP4 is on disk."""
    project_with("checkout", user.home, user.project)
    with GeminiModel(Script(on_running=user.backend.advance)) as model:
        env = gemini_env(user, model)
        assert_connected(gemini, env, user.project)
        answer = ask(gemini, env, user.project)
    assert_full_run(model.script, user.backend, str(answer["response"]))


@pytest.mark.parametrize("form", ["uvx", "http"])
def test_settings_connect_and_list_tools(gemini: Path, user: User, form: str) -> None:
    """The uvx and HTTP settings files: `gemini mcp list` says Connected and the model is
    offered all seven tools."""
    with GeminiModel(Script(full=False)) as model:
        project_with(form, user.home, user.project, user.shell.get("PHASEO_MCP_URL", ""))
        env = gemini_env(user, model)
        assert_connected(gemini, env, user.project)
        answer = ask(gemini, env, user.project)
    assert model.script.offered == TOOL_NAMES, (model.paths(), answer)
    assert str(answer["response"]).startswith(LISTED), answer
