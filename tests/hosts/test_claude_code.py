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
from pathlib import Path

import pytest

from helpers import TOOL_NAMES
from hostkit import LISTED, PROMPT, SERVER, Script, User, assert_full_run
from local_servers import ROOT, require_host, run_host, shipped
from model_anthropic import AnthropicModel

pytestmark = pytest.mark.slow
PROJECT_FILES = {
    "checkout": "claude-code.checkout.mcp.json",
    "uvx": "claude-code.mcp.json",
    "http": "claude-code.http.mcp.json",
}


@pytest.fixture
def claude() -> Path:
    return require_host("claude-code")


def claude_env(user: User, model: AnthropicModel) -> dict[str, str]:
    return user.env(
        ANTHROPIC_BASE_URL=model.base_url,
        ANTHROPIC_API_KEY="sk-ant-api03-scripted-stand-in",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
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


def test_checkout_project_file_runs_create_wait_download(claude: Path, user: User) -> None:
    """`.mcp.json` (checkout form) in a project: connected, and one prompt runs create → wait →
    download through Claude Code's MCP client; the model saw each result (the video id it waits
    on came back through the host) and the MP4 is on disk."""
    (user.project / ".mcp.json").write_text(shipped(PROJECT_FILES["checkout"]))
    approve_project(user.home, user.project)
    with AnthropicModel(Script(on_running=user.backend.advance)) as model:
        env = claude_env(user, model)
        assert_connected(claude, env, user.project)
        answer = ask(claude, env, user.project)
    assert_full_run(model.script, user.backend, str(answer["result"]))


@pytest.mark.parametrize("form", ["uvx", "http"])
def test_project_file_connects_and_lists_tools(claude: Path, user: User, form: str) -> None:
    """The uvx and HTTP `.mcp.json` files: `claude mcp get` says Connected and the model is
    offered all seven tools."""
    (user.project / ".mcp.json").write_text(shipped(PROJECT_FILES[form]))
    approve_project(user.home, user.project)
    with AnthropicModel(Script(full=False)) as model:
        env = claude_env(user, model)
        assert_connected(claude, env, user.project)
        assert_lists_tools(claude, env, user.project, model)


@pytest.mark.parametrize("form", ["checkout", "uvx", "http"])
def test_install_script_registers_a_working_server(claude: Path, user: User, form: str) -> None:
    """`sh configs/claude-code.sh <form>` registers `phaseo` in user scope; `claude mcp get`
    then says Connected and the model is offered all seven tools."""
    with AnthropicModel(Script(full=False)) as model:
        env = claude_env(user, model)
        env["PATH"] = f"{claude.parent}:{env['PATH']}"  # the script runs `claude`
        env["PHASEO_MCP_CHECKOUT"] = str(ROOT)
        added = run_host(["sh", ROOT / "configs" / "claude-code.sh", form], env, user.project)
        assert added.returncode == 0, added.stdout + added.stderr
        assert_connected(claude, env, user.project)
        assert_lists_tools(claude, env, user.project, model)
