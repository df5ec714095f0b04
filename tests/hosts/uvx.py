"""The real ``uv`` and a local package index, so the configs' ``uvx phaseo-mcp`` form runs as it
will the day the package is published.

``uv`` is installed from PyPI once per machine into the hosts cache. The wheel of this checkout
and the wheels of its dependencies are built into a per-run folder; ``uvx_env()`` returns the
environment under which ``uvx phaseo-mcp`` resolves only from that folder (no index), so a
package of the same name on PyPI can never be picked up instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from hostcache import cache_root

UV_VERSION = "0.9.5"
ROOT = Path(__file__).resolve().parents[2]


def uv_dir() -> Path:
    return cache_root() / f"uv@{UV_VERSION}"


def uv_binary(name: str = "uv") -> Path:
    return uv_dir() / "bin" / name


def install_uv(timeout: float = 600) -> tuple[bool, str]:
    if uv_binary("uvx").exists():
        return True, ""
    target = uv_dir()
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    proc = subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]


def build_wheelhouse(dest: Path, timeout: float = 600) -> Path:
    """This checkout's wheel plus every dependency's wheel, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(dest), str(ROOT)],
        check=True,
        timeout=timeout,
    )
    return dest


def uvx_env(wheelhouse: Path, home: Path) -> dict[str, str]:
    """Environment for a host that spawns ``uvx phaseo-mcp``: uv on PATH, local wheels only,
    caches inside the test's own HOME."""
    return {
        "PATH": f"{uv_binary().parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "UV_NO_INDEX": "1",
        # uv 0.9.5 has no environment form of --no-index (UV_NO_INDEX is ignored): offline is
        # what keeps it from asking PyPI, which may one day hold a phaseo-mcp of its own.
        "UV_OFFLINE": "1",
        "UV_FIND_LINKS": str(wheelhouse),
        "UV_CACHE_DIR": str(home / ".cache" / "uv"),
        "UV_TOOL_DIR": str(home / ".local" / "share" / "uv" / "tools"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
