"""Install the pinned host programs once per machine, outside the clone, and find them.

Each host lives in ``~/.cache/phaseo-mcp/hosts/<name>@<version>`` (or under
``$PHASEO_HOSTS_CACHE``), so CI and repeated runs reuse it. ``dev.py test`` calls
``install_all()`` in parallel with its other installs; tests call ``host_binary(name)``.
``npm_install`` and ``pip_install`` are how every pinned tool of the tests is installed (the
hosts, uv, mcp-use, mcp-remote, fast-agent, and tests/tsclient's SDKs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pins import HOSTS

NPM_ENV = {
    "npm_config_loglevel": "error",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
    "npm_config_update_notifier": "false",
}
PACKAGE_JSON = '{"name":"phaseo-host","private":true}\n'


def cache_root() -> Path:
    override = os.environ.get("PHASEO_HOSTS_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "phaseo-mcp" / "hosts"


def host_dir(name: str) -> Path:
    package, version, _ = HOSTS[name]
    return cache_root() / f"{name}@{version}"


def host_binary(name: str) -> Path:
    """The host's executable (installed or not: callers check ``exists()``)."""
    return host_dir(name) / "node_modules" / ".bin" / HOSTS[name][2]


def swap_in(staging: Path, target: Path) -> None:
    """Move a finished install into place: whole or not at all, so a killed install never
    looks installed (if another run finished the same install first, keep that one)."""
    shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def npm_install(
    target: Path, files: Mapping[str, str | Path], command: Sequence[str], timeout: float
) -> tuple[bool, str]:
    """Run an npm ``command`` in a staging folder holding ``files`` (name -> text, or a file to
    copy), then swap it in as ``target``; (ok, the tail of npm's output on failure)."""
    if shutil.which("npm") is None:
        return False, "npm is not installed"
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy2(content, staging / name)
        else:
            (staging / name).write_text(content)
    proc = subprocess.run(
        ["npm", *command],
        cwd=staging,
        env={**os.environ, **NPM_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        return False, (proc.stdout + proc.stderr)[-2000:]
    swap_in(staging, target)
    return True, ""


def pip_install(python: Path, spec: str, timeout: float) -> tuple[bool, str]:
    """``pip install spec`` with a venv's ``python``; (ok, the tail of pip's output)."""
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", spec],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]


def install(name: str, timeout: float = 900) -> tuple[str, bool, str]:
    """Install one host; returns (name, ok, last lines of npm's output on failure)."""
    package, version, _ = HOSTS[name]
    if host_binary(name).exists():
        return name, True, ""
    ok, detail = npm_install(
        host_dir(name),
        {"package.json": PACKAGE_JSON},
        ["install", "--no-save", f"{package}@{version}"],
        timeout,
    )
    return name, ok, detail


def install_all() -> list[tuple[str, bool, str]]:
    with ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        return list(pool.map(install, HOSTS))


if __name__ == "__main__":
    for host, ok, detail in install_all():
        print(f"{host}: {'ok' if ok else 'FAILED'} {detail}")
