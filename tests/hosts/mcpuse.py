"""Python-side hosts, each in its own venv in the hosts cache.

``mcp-use`` (PyPI), a client library that reads the ``mcpServers`` files of desktop apps that
cannot run here (Claude Desktop, Cursor, Windsurf), in its own venv in the hosts cache: it pins
an older ``mcp`` than ours. Also ``mcp-remote``, the stdio bridge Claude Desktop's HTTP file runs
with ``npx -y mcp-remote``; npx finds it in the ``node_modules`` of its working directory.
And ``fast-agent`` (PyPI ``fast-agent-mcp``), a host program whose ``passthrough`` model makes
deterministic tool calls; it needs Python >= 3.13, found where one is installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import venv
from pathlib import Path

from hostcache import PACKAGE_JSON, cache_root, npm_install, pip_install, swap_in

MCP_USE_VERSION = "1.7.1"
MCP_REMOTE_VERSION = "0.1.38"
FAST_AGENT_VERSION = "0.10.48"
DRIVER = Path(__file__).with_name("mcp_use_driver.py")


def mcp_use_dir() -> Path:
    return cache_root() / f"mcp-use@{MCP_USE_VERSION}"


def mcp_use_python() -> Path:
    return mcp_use_dir() / "bin" / "python"


def mcp_remote_dir() -> Path:
    """Run ``npx -y mcp-remote`` with this as its working directory to get the pinned one."""
    return cache_root() / f"mcp-remote@{MCP_REMOTE_VERSION}"


def install_mcp_use(timeout: float = 900) -> tuple[str, bool, str]:
    """Install mcp-use once per machine; (name, ok, last lines of pip's output on failure)."""
    target = mcp_use_dir()
    if (target / ".complete").exists():
        return "mcp-use", True, ""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(staging)
    ok, detail = pip_install(staging / "bin" / "python", f"mcp-use=={MCP_USE_VERSION}", timeout)
    if not ok:
        return "mcp-use", False, detail
    (staging / ".complete").touch()
    # Moving a venv breaks only its console scripts' shebangs; the tests run bin/python.
    swap_in(staging, target)
    return "mcp-use", True, ""


def install_mcp_remote(timeout: float = 600) -> tuple[str, bool, str]:
    target = mcp_remote_dir()
    if (target / "node_modules" / ".bin" / "mcp-remote").exists():
        return "mcp-remote", True, ""
    command = ["install", "--no-save", f"mcp-remote@{MCP_REMOTE_VERSION}"]
    ok, detail = npm_install(target, {"package.json": PACKAGE_JSON}, command, timeout)
    return "mcp-remote", ok, detail


def python313() -> Path | None:
    """A Python >= 3.13 interpreter on this machine (PATH, pyenv, /usr), or None."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (13, 14)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[3-9]*/bin/python3")))
    candidates += ["/usr/bin/python3.13", "/usr/local/bin/python3.13"]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 13))"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if probe.stdout.strip() == "True":  # a pyenv shim for another version says otherwise
            return Path(candidate)
    return None


def fast_agent_dir() -> Path:
    return cache_root() / f"fast-agent@{FAST_AGENT_VERSION}"


def fast_agent_binary() -> Path:
    return fast_agent_dir() / "bin" / "fast-agent"


def install_fast_agent(timeout: float = 900) -> tuple[str, bool, str]:
    target = fast_agent_dir()
    if (target / ".complete").exists():
        return "fast-agent", True, ""
    python = python313()
    if python is None:
        return "fast-agent", False, "no Python >= 3.13 on this machine"
    # Built in place (its console script's shebang names this folder); the marker says whole.
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([str(python), "-m", "venv", str(target)], check=True, timeout=300)
    spec = f"fast-agent-mcp=={FAST_AGENT_VERSION}"
    ok, detail = pip_install(target / "bin" / "python", spec, timeout)
    if not ok:
        return "fast-agent", False, detail
    (target / ".complete").touch()
    return "fast-agent", True, ""


def install_all() -> list[tuple[str, bool, str]]:
    return [install_mcp_use(), install_mcp_remote(), install_fast_agent()]


if __name__ == "__main__":
    for name, ok, detail in install_all():
        print(f"{name}: {'ok' if ok else 'FAILED'} {detail}")
