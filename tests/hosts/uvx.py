"""The real ``uv`` and a local package index, so the configs' ``uvx phaseo-mcp`` form runs as it
will the day the package is published.

``uv`` is installed from PyPI once per machine into the hosts cache. The wheel of this checkout
and the wheels of its dependencies are built into a folder once per test session; ``uvx_env()``
writes the user's uv.toml under which ``uvx phaseo-mcp`` resolves only from that folder (no
index), so a package of the same name on PyPI can never be picked up instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import venv
from pathlib import Path

import pytest

from hostcache import cache_root, pip_install
from source_tree import source_copy

UV_VERSION = "0.9.5"


def uv_dir() -> Path:
    return cache_root() / f"uv@{UV_VERSION}"


def uv_binary(name: str = "uv") -> Path:
    return uv_dir() / "bin" / name


def install_uv(timeout: float = 600) -> tuple[bool, str]:
    if uv_binary("uvx").exists():
        return True, ""
    target = uv_dir()
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    return pip_install(target / "bin" / "python", f"uv=={UV_VERSION}", timeout)


def build_wheelhouse(dest: Path, timeout: float = 600) -> Path:
    """This checkout's wheel plus every dependency's wheel, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    source = source_copy(dest.parent / f"{dest.name}-src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(dest), str(source)],
        check=True,
        timeout=timeout,
    )
    return dest


_wheels: list[Path] = []
_wheels_lock = threading.Lock()


def session_wheelhouse(factory: pytest.TempPathFactory) -> Path:
    """The real uv installed, and this checkout's wheels built, once per test session."""
    with _wheels_lock:
        if not _wheels:
            ok, detail = install_uv()
            if not ok:
                pytest.fail(f"uv {UV_VERSION} did not install from PyPI: {detail}")
            _wheels.append(build_wheelhouse(factory.mktemp("wheelhouse")))
        return _wheels[0]


def uvx_env(home: Path, wheelhouse: Path) -> dict[str, str]:
    """Make ``uvx phaseo-mcp`` under ``home`` resolve from ``wheelhouse`` only (no index, no
    Python downloads), and return what the shell adds for it: uv first on PATH.

    Hosts pass a stdio server only some variables, but always HOME, so the settings live in
    the user's uv.toml (``$HOME/.config/uv``) rather than in UV_* variables."""
    config = home / ".config" / "uv"
    config.mkdir(parents=True, exist_ok=True)
    (config / "uv.toml").write_text(
        "no-index = true\n"
        f'find-links = ["{wheelhouse}"]\n'
        f'cache-dir = "{wheelhouse.parent / "uv-cache"}"\n'
        'python-downloads = "never"\n',
        encoding="utf-8",
    )
    return {"PATH": f"{uv_binary().parent}{os.pathsep}{os.environ.get('PATH', '')}"}
