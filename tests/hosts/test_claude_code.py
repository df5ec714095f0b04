"""Claude Code (the real ``claude`` program, pinned in pins.py) loads every shipped Claude Code
config as a user would, reports the server connected, lists its tools, and runs create → wait →
download through its own MCP client against the gateway emulator.

The model is :class:`model_anthropic.AnthropicModel`, a scripted stand-in on loopback. Each test
has its own HOME, so no real Claude Code configuration is read or written. What the configs
README asks of a user is done and nothing more: the checkout path is filled in, the key and token
are in the shell's environment, a project's ``.mcp.json`` server is approved (Claude Code's
approval prompt records that in ``~/.claude.json``), and ``configs/claude-code.sh`` is run as is.
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
    ROOT,
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
from model_anthropic import AnthropicModel

pytestmark = pytest.mark.slow
TOKEN = "claude-code-host-token-0123456789"
PROJECT_FILES = {
    "checkout": "claude-code.checkout.mcp.json",
    "uvx": "claude-code.mcp.json",
    "http": "claude-code.http.mcp.json",
}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    with emulator_process(tmp_path / "emulator") as running:
        yield running


@pytest.fixture
def claude() -> Path:
    return require_host("claude-code")


def claude_env(home: Path, model: AnthropicModel, backend: Backend, **extra: str) -> dict[str, str]:
    return host_env(
        home,
        ANTHROPIC_BASE_URL=model.base_url,
        ANTHROPIC_API_KEY="sk-ant-api03-scripted-stand-in",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        **backend.server_env(),
        **extra,
    )


def approve_project(home: Path, project: Path) -> None:
    """What Claude Code records when the user trusts the folder and approves its .mcp.json
    server at the prompt (``claude -p`` cannot show that prompt)."""
    state = {"projects": {str(project): {"hasTrustDialogAccepted": True,
                                         "enabledMcpjsonServers": [SERVER]}}}  # fmt: skip
    (home / ".claude.json").write_text(json.dumps(state))


def assert_connected(claude: Path, env: dict[str, str], cwd: Path) -> None:
    """``claude mcp get phaseo`` — the health check the configs README names."""
    got = run_host([claude, "mcp", "get", SERVER], env, cwd)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "Connected" in got.stdout, got.stdout + got.stderr


def ask(claude: Path, env: dict[str, str], cwd: Path) -> dict[str, object]:
    """One non-interactive turn that may call only the phaseo tools; its JSON result."""
    done = run_host(
        [claude, "-p", PROMPT, "--allowedTools", f"mcp__{SERVER}__*", "--output-format", "json"],
        env,
        cwd,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def assert_lists_tools(claude: Path, env: dict[str, str], cwd: Path, model: AnthropicModel) -> None:
    answer = ask(claude, env, cwd)
    assert model.script.offered == TOOL_NAMES, (model.paths(), answer)
    assert str(answer["result"]).startswith(LISTED), answer


def test_checkout_project_file_runs_create_wait_download(
    claude: Path, backend: Backend, tmp_path: Path
) -> None:
    """`.mcp.json` (checkout form) in a project: connected, and one prompt runs create → wait →
    download through Claude Code's MCP client; the model saw each result (the video id it waits
    on came back through the host) and the MP4 is on disk."""
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / ".mcp.json").write_text(config_text(PROJECT_FILES["checkout"]))
    approve_project(home, project)
    with AnthropicModel(Script(on_running=backend.advance)) as model:
        env = claude_env(home, model, backend)
        assert_connected(claude, env, project)
        answer = ask(claude, env, project)
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
    assert str(answer["result"]).startswith(FINAL_PREFIX), answer
    assert str(videos[0]) in str(answer["result"])  # the saved path reached the model


@pytest.mark.parametrize("form", ["uvx", "http"])
def test_project_file_connects_and_lists_tools(
    claude: Path,
    backend: Backend,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    form: str,
) -> None:
    """The uvx and HTTP `.mcp.json` files: `claude mcp get` says Connected and the model is
    offered all seven tools."""
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / ".mcp.json").write_text(config_text(PROJECT_FILES[form]))
    approve_project(home, project)
    shell = shell_for(form, backend, home, TOKEN, tmp_path_factory)
    with AnthropicModel(Script(full=False)) as model, shell as extra:
        env = claude_env(home, model, backend, **extra)
        assert_connected(claude, env, project)
        assert_lists_tools(claude, env, project, model)


@pytest.mark.parametrize("form", ["checkout", "uvx", "http"])
def test_install_script_registers_a_working_server(
    claude: Path,
    backend: Backend,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    form: str,
) -> None:
    """`sh configs/claude-code.sh <form>` registers `phaseo` in user scope; `claude mcp get`
    then says Connected and the model is offered all seven tools."""
    home, workdir = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    workdir.mkdir()
    shell = shell_for(form, backend, home, TOKEN, tmp_path_factory)
    with AnthropicModel(Script(full=False)) as model, shell as extra:
        env = claude_env(home, model, backend, **extra)
        env["PATH"] = f"{claude.parent}:{env['PATH']}"  # the script runs `claude`
        env["PHASEO_MCP_CHECKOUT"] = str(ROOT)
        added = run_host(["sh", ROOT / "configs" / "claude-code.sh", form], env, workdir)
        assert added.returncode == 0, added.stdout + added.stderr
        assert_connected(claude, env, workdir)
        assert_lists_tools(claude, env, workdir, model)
