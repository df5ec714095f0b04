"""Read the ready-made client files in ``configs/`` into one shape the tests can run.

Each client spells the same thing differently (``mcpServers`` vs ``servers``, ``url`` vs
``serverUrl``, ``${env:X}`` vs ``${X}`` vs ``${input:x}``, TOML for Codex, YAML for
fast-agent). This module knows those spellings, and how to replace each file's placeholders
with test values, so a test can launch exactly what a user would paste.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / "configs"
SERVER_NAME = "phaseo"
CHECKOUT_PLACEHOLDER = "/path/to/phaseo-mcp"
DEFAULT_HTTP_URL = "http://127.0.0.1:8000/mcp"

# Every spelling of "the user's API key" / "the HTTP bearer token" used in configs/.
KEY_PLACEHOLDERS = (
    "${input:phaseo-api-key}",
    "${env:PHASEO_API_KEY}",
    "${PHASEO_API_KEY}",
    "{env:PHASEO_API_KEY}",
    "phaseo_v1_sk_REPLACE_WITH_YOUR_KEY",
)
TOKEN_PLACEHOLDERS = (
    "${input:phaseo-mcp-token}",
    "${env:PHASEO_MCP_TOKEN}",
    "${PHASEO_MCP_TOKEN}",
    "{env:PHASEO_MCP_TOKEN}",
    "REPLACE_WITH_YOUR_MCP_TOKEN",
)
URL_PLACEHOLDERS = ("${PHASEO_MCP_URL:-http://127.0.0.1:8000/mcp}",)

# file name -> client
CLIENT_FILES: dict[str, str] = {
    "claude_desktop_config.json": "claude-desktop",
    "claude_desktop_config.checkout.json": "claude-desktop",
    "claude_desktop_config.http.json": "claude-desktop",
    "claude-code.mcp.json": "claude-code",
    "claude-code.checkout.mcp.json": "claude-code",
    "claude-code.http.mcp.json": "claude-code",
    "cursor.mcp.json": "cursor",
    "cursor.checkout.mcp.json": "cursor",
    "cursor.http.mcp.json": "cursor",
    "vscode.mcp.json": "vscode",
    "vscode.checkout.mcp.json": "vscode",
    "vscode.http.mcp.json": "vscode",
    "windsurf.mcp_config.json": "windsurf",
    "windsurf.checkout.mcp_config.json": "windsurf",
    "windsurf.http.mcp_config.json": "windsurf",
    "codex.config.toml": "codex",
    "codex.checkout.config.toml": "codex",
    "codex.http.config.toml": "codex",
    "gemini.settings.json": "gemini",
    "gemini.checkout.settings.json": "gemini",
    "gemini.http.settings.json": "gemini",
    "opencode.json": "opencode",
    "opencode.checkout.json": "opencode",
    "opencode.http.json": "opencode",
    "fastagent.config.yaml": "fast-agent",
    "fastagent.checkout.config.yaml": "fast-agent",
    "fastagent.http.config.yaml": "fast-agent",
}
STDIO_FILES = sorted(name for name in CLIENT_FILES if ".http." not in name)
HTTP_FILES = sorted(name for name in CLIENT_FILES if ".http." in name)
# Claude Desktop reaches an HTTP server only through a stdio bridge (mcp-remote).
BRIDGED_HTTP_FILES = {"claude_desktop_config.http.json"}


@dataclass
class StdioEntry:
    source: str
    command: str
    args: list[str]
    env: dict[str, str]
    forwarded: list[str] = field(default_factory=list)  # names taken from the parent env


@dataclass
class HttpEntry:
    source: str
    url: str
    headers: dict[str, str]


def load(name: str) -> dict[str, Any]:
    path = CONFIGS / name
    if name.endswith(".toml"):
        return tomllib.loads(path.read_text(encoding="utf-8"))
    if name.endswith(".yaml"):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(loaded, dict)
        return loaded
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def server_block(name: str) -> dict[str, Any]:
    """The ``phaseo`` server entry of a config file, wherever the client keeps it."""
    data = load(name)
    client = CLIENT_FILES[name]
    if client == "vscode":
        servers = data["servers"]
    elif client == "codex":
        servers = data["mcp_servers"]
    elif client == "opencode":
        servers = data["mcp"]
    elif client == "fast-agent":
        servers = data["mcp"]["servers"]
    else:
        servers = data["mcpServers"]
    assert list(servers) == [SERVER_NAME], f"{name}: expected exactly one server named phaseo"
    block = servers[SERVER_NAME]
    assert isinstance(block, dict)
    return block


def stdio_entry(name: str) -> StdioEntry:
    block = server_block(name)
    if CLIENT_FILES[name] == "opencode":  # one list: command then arguments; "environment"
        command, *args = block["command"]
        return StdioEntry(name, command, args, dict(block.get("environment", {})))
    return StdioEntry(
        source=name,
        command=block["command"],
        args=list(block.get("args", [])),
        env=dict(block.get("env", {})),
        forwarded=list(block.get("env_vars", [])),
    )


def http_entry(name: str) -> HttpEntry:
    block = server_block(name)
    client = CLIENT_FILES[name]
    if name in BRIDGED_HTTP_FILES:
        args = block["args"]
        url = next(arg for arg in args if arg.startswith("http"))
        header = args[args.index("--header") + 1]
        header_name, _, header_value = header.partition(":")
        for var, value in block.get("env", {}).items():
            header_value = header_value.replace("${" + var + "}", value)
        return HttpEntry(name, url, {header_name: header_value.strip()})
    if client == "codex":
        headers = {"Authorization": "Bearer ${env:" + block["bearer_token_env_var"] + "}"}
        return HttpEntry(name, block["url"], headers)
    url_field = {"windsurf": "serverUrl", "gemini": "httpUrl"}.get(client, "url")
    url = block.get(url_field)
    assert isinstance(url, str), f"{name}: no URL"
    return HttpEntry(name, url, dict(block.get("headers", {})))


def substitute(text: str, *, key: str = "", token: str = "", url: str = "") -> str:
    """Replace the placeholders a user would fill in with test values."""
    for placeholder in KEY_PLACEHOLDERS:
        text = text.replace(placeholder, key)
    for placeholder in TOKEN_PLACEHOLDERS:
        text = text.replace(placeholder, token)
    for placeholder in URL_PLACEHOLDERS:
        text = text.replace(placeholder, url or DEFAULT_HTTP_URL)
    return text


def installed_cli() -> Path:
    """The ``phaseo-mcp`` console script of the environment running the tests."""
    script = Path(sys.executable).parent / (
        "phaseo-mcp.exe" if sys.platform == "win32" else "phaseo-mcp"
    )
    assert script.exists(), f"{script} missing: install the project (pip install -e .)"
    return script


def resolve_command(entry: StdioEntry, checkout: Path) -> tuple[str, list[str]]:
    """``uvx phaseo-mcp`` (not published yet) and checkout paths -> the installed command."""
    if entry.command == "uvx":
        assert entry.args[:1] == ["phaseo-mcp"], f"{entry.source}: uvx must run phaseo-mcp"
        return str(installed_cli()), entry.args[1:]
    if entry.command.startswith(CHECKOUT_PLACEHOLDER):
        return str(checkout) + entry.command[len(CHECKOUT_PLACEHOLDER) :], entry.args
    return entry.command, entry.args


def fake_checkout(tmp: Path) -> Path:
    """A folder shaped like a checkout (``.venv/bin/phaseo-mcp``) for the ``checkout`` forms.

    The repository itself is used when its ``.venv`` is the one running the tests, so the
    checkout form is exercised for real; otherwise a symlink to the installed script stands in.
    """
    if (REPO_ROOT / ".venv" / "bin" / "phaseo-mcp").exists():
        return REPO_ROOT
    bin_dir = tmp / "checkout" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "phaseo-mcp").symlink_to(installed_cli())
    return tmp / "checkout"


UNFILLED = re.compile(r"\$\{|REPLACE_WITH|/path/to/")
