"""The player view's npm trees, installed once into ``.cache/view/`` from committed locks.

``view/`` (the player's sources) and ``tests/view/host/`` (the test host page: AppBridge,
esbuild, puppeteer-core) each pin exact versions in a committed ``package-lock.json``; ``npm
ci`` installs exactly that tree into a cache folder named by the lock's hash, so a changed
lock reinstalls. Nothing here downloads a browser: the host test drives Debian's chromium.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hosts"))
from hostcache import npm_install  # noqa: E402

VIEW_SOURCES = ROOT / "view"
HOST_SOURCES = Path(__file__).resolve().parent / "host"
COMMITTED = ROOT / "phaseo_mcp" / "server" / "view" / "player.html"
NPM_TIMEOUT = 600.0


def _cache(name: str, sources: Path) -> Path:
    cache = Path(os.environ.get("PHASEO_MCP_CACHE", ROOT / ".cache"))
    lock = hashlib.sha256((sources / "package-lock.json").read_bytes()).hexdigest()[:10]
    return cache / "view" / f"{name}-{lock}"


def install(name: str, sources: Path) -> tuple[Path | None, str]:
    """``npm ci`` of ``sources``' lock into the cache; (the folder or None, why not)."""
    target = _cache(name, sources)
    if (target / "node_modules" / ".package-lock.json").exists():
        return target, ""
    files = {f: sources / f for f in ("package.json", "package-lock.json")}
    ok, detail = npm_install(target, files, ["ci", "--ignore-scripts"], NPM_TIMEOUT)
    return (target if ok else None), detail


def rebuild_player(out: Path) -> tuple[bool, str]:
    """Type-check (strict, pinned tsc) and build the player from ``view/`` into ``out``."""
    import subprocess

    folder, detail = install("player", VIEW_SOURCES)
    if folder is None:
        return False, detail
    work = folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(VIEW_SOURCES / "src", work / "src")
    for name in ("build.mjs", "tsconfig.json"):
        shutil.copy2(VIEW_SOURCES / name, work / name)
    link = work / "node_modules"
    link.symlink_to(folder / "node_modules", target_is_directory=True)
    for command in (["node", "node_modules/typescript/bin/tsc", "-p", "."],
                    ["node", "build.mjs", str(out)]):  # fmt: skip
        proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            return False, (proc.stdout + proc.stderr)[-2000:]
    return True, ""


if __name__ == "__main__":  # dev.py test: install both trees, say what failed
    for name, sources in (("player", VIEW_SOURCES), ("host", HOST_SOURCES)):
        folder, detail = install(name, sources)
        if folder is None:
            print(f"note: npm ci of {sources} failed; tests/view will fail:\n{detail}")
