"""Install the pinned host programs once per machine, outside the clone, and find them.

Each host lives in ``~/.cache/phaseo-mcp/hosts/<name>@<version>`` (or under
``$PHASEO_HOSTS_CACHE``), so CI and repeated runs reuse it. ``dev.py test`` calls
``install_all()`` in parallel with its other installs; tests call ``host_binary(name)``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pins import HOSTS

NPM_ENV = {
    "npm_config_loglevel": "error",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
    "npm_config_update_notifier": "false",
}


def cache_root() -> Path:
    override = os.environ.get("PHASEO_HOSTS_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "phaseo-mcp" / "hosts"


def host_dir(name: str) -> Path:
    package, version, _ = HOSTS[name]
    return cache_root() / f"{name}@{version}"


def host_binary(name: str) -> Path:
    """The host's executable (installed or not: callers check ``exists()``)."""
    return host_dir(name) / "node_modules" / ".bin" / HOSTS[name][2]


def install(name: str, timeout: float = 900) -> tuple[str, bool, str]:
    """Install one host; returns (name, ok, last lines of npm's output on failure)."""
    package, version, _ = HOSTS[name]
    if host_binary(name).exists():
        return name, True, ""
    if shutil.which("npm") is None:
        return name, False, "npm is not installed"
    target = host_dir(name)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text('{"name":"phaseo-host","private":true}\n')
    proc = subprocess.run(
        ["npm", "install", "--no-save", f"{package}@{version}"],
        cwd=staging,
        env={**os.environ, **NPM_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        return name, False, (proc.stdout + proc.stderr)[-2000:]
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # whole or not at all: a killed install never looks installed
    return name, True, ""


def install_all() -> list[tuple[str, bool, str]]:
    with ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        return list(pool.map(install, HOSTS))


if __name__ == "__main__":
    for host, ok, detail in install_all():
        print(f"{host}: {'ok' if ok else 'FAILED'} {detail}")
