"""``mcp-use`` (PyPI), a client library that reads the ``mcpServers`` files of desktop apps that
cannot run here (Claude Desktop, Cursor, Windsurf), in its own venv in the hosts cache: it pins
an older ``mcp`` than ours. Also ``mcp-remote``, the stdio bridge Claude Desktop's HTTP file runs
with ``npx -y mcp-remote``; npx finds it in the ``node_modules`` of its working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

from hostcache import NPM_ENV, cache_root

MCP_USE_VERSION = "1.7.1"
MCP_REMOTE_VERSION = "0.1.38"
DRIVER = Path(__file__).with_name("mcp_use_driver.py")


def mcp_use_dir() -> Path:
    return cache_root() / f"mcp-use@{MCP_USE_VERSION}"


def mcp_use_python() -> Path:
    return mcp_use_dir() / "bin" / "python"


def mcp_remote_dir() -> Path:
    """Run ``npx -y mcp-remote`` with this as its working directory to get the pinned one."""
    return cache_root() / f"mcp-remote@{MCP_REMOTE_VERSION}"


def _swap_in(staging: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # whole or not at all: a killed install never looks installed


def install_mcp_use(timeout: float = 900) -> tuple[str, bool, str]:
    """Install mcp-use once per machine; (name, ok, last lines of pip's output on failure)."""
    target = mcp_use_dir()
    if (target / ".complete").exists():
        return "mcp-use", True, ""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(staging)
    proc = subprocess.run(
        [str(staging / "bin" / "python"), "-m", "pip", "install", "-q",
         f"mcp-use=={MCP_USE_VERSION}"],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return "mcp-use", False, (proc.stdout + proc.stderr)[-2000:]
    (staging / ".complete").touch()
    # Moving a venv breaks only its console scripts' shebangs; the tests run bin/python.
    _swap_in(staging, target)
    return "mcp-use", True, ""


def install_mcp_remote(timeout: float = 600) -> tuple[str, bool, str]:
    target = mcp_remote_dir()
    if (target / "node_modules" / ".bin" / "mcp-remote").exists():
        return "mcp-remote", True, ""
    if shutil.which("npm") is None:
        return "mcp-remote", False, "npm is not installed"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text('{"name":"phaseo-host","private":true}\n')
    proc = subprocess.run(
        ["npm", "install", "--no-save", f"mcp-remote@{MCP_REMOTE_VERSION}"],
        cwd=staging, env={**os.environ, **NPM_ENV},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return "mcp-remote", False, (proc.stdout + proc.stderr)[-2000:]
    _swap_in(staging, target)
    return "mcp-remote", True, ""


def install_all() -> list[tuple[str, bool, str]]:
    return [install_mcp_use(), install_mcp_remote()]


if __name__ == "__main__":
    for name, ok, detail in install_all():
        print(f"{name}: {'ok' if ok else 'FAILED'} {detail}")
