"""configs/claude-code.sh with the real, pinned ``claude`` CLI (temporary HOME).

The script once wrote ``--env KEY=VAL <name>``: Claude Code's ``--env`` takes several values
and swallowed the name, so only the HTTP form worked. Each form must now register ``phaseo``
exactly as intended, and the checkout form must report Connected in ``claude mcp get``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from client_configs import CONFIGS, REPO_ROOT
from helpers import TEST_KEY
from hostcache import host_binary, install

TOKEN = "script-test-token-0123456789"


@pytest.fixture(scope="module")
def claude() -> Path:
    name, ok, detail = install("claude-code")
    assert ok, detail
    return host_binary(name)


def _env(claude: Path, home: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{claude.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        **extra,
    }


def _register(claude: Path, home: Path, form: str, **extra: str) -> dict[str, Any]:
    """Run the script as the user would; the ``phaseo`` entry Claude Code stored."""
    done = subprocess.run(
        ["sh", str(CONFIGS / "claude-code.sh"), form],
        env=_env(claude, home, **extra),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stored = json.loads((home / ".claude.json").read_text(encoding="utf-8"))
    servers: dict[str, Any] = stored["mcpServers"]
    assert list(servers) == ["phaseo"], servers
    entry: dict[str, Any] = servers["phaseo"]
    return entry


def test_uvx_form_registers_phaseo_with_its_settings(claude: Path, tmp_path: Path) -> None:
    """uvx: command, args and every PHASEO_* setting set in the shell land in the entry."""
    entry = _register(
        claude, tmp_path, "uvx", PHASEO_API_KEY=TEST_KEY, PHASEO_OUTPUT_DIR="/abs/videos"
    )
    assert entry["type"] == "stdio"
    assert (entry["command"], entry["args"]) == ("uvx", ["phaseo-mcp"])
    assert entry["env"] == {"PHASEO_API_KEY": TEST_KEY, "PHASEO_OUTPUT_DIR": "/abs/videos"}


def test_checkout_form_connects(claude: Path, tmp_path: Path) -> None:
    """checkout: registered with the key, and `claude mcp get phaseo` reports Connected."""
    entry = _register(
        claude,
        tmp_path,
        "checkout",
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_MCP_CHECKOUT=str(REPO_ROOT),
        PHASEO_OUTPUT_DIR=str(tmp_path / "videos"),
        PHASEO_STATE_DIR=str(tmp_path / "state"),
        PHASEO_BASE_URL="http://127.0.0.1:9/v1",  # connecting lists tools; no gateway call
    )
    assert entry["command"] == str(REPO_ROOT / ".venv" / "bin" / "phaseo-mcp")
    assert entry["env"]["PHASEO_API_KEY"] == TEST_KEY
    shown = subprocess.run(
        [str(claude), "mcp", "get", "phaseo"],
        env=_env(claude, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Connected" in shown.stdout, shown.stdout + shown.stderr
    assert TEST_KEY not in shown.stderr


def test_http_form_registers_url_and_bearer_header(claude: Path, tmp_path: Path) -> None:
    """http: the /mcp URL and an Authorization: Bearer header."""
    entry = _register(claude, tmp_path, "http", PHASEO_MCP_TOKEN=TOKEN)
    assert entry["type"] == "http"
    assert entry["url"] == "http://127.0.0.1:8000/mcp"
    assert entry["headers"] == {"Authorization": f"Bearer {TOKEN}"}
