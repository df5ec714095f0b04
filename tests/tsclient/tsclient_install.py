"""Install the pinned TypeScript MCP SDKs once, into ``.cache/tsclient/<package>@<version>``.

Each SDK has its own folder here (``sdk-v1``, ``sdk-v2``) with a ``package.json`` that pins one
exact version and a committed ``package-lock.json``; ``npm ci`` installs exactly that tree. The
cache folder carries the lock file's hash, so a changed lock reinstalls. ``dev.py test`` calls
``install_all()``; the tests call ``sdk_modules(name)`` and skip when it is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hosts"))
from hostcache import npm_install  # noqa: E402

SDKS = ("sdk-v1", "sdk-v2")


def pinned(name: str) -> tuple[str, str]:
    """The (package, exact version) that ``sdk-vN/package.json`` pins."""
    deps: dict[str, str] = json.loads((HERE / name / "package.json").read_text())["dependencies"]
    ((package, version),) = deps.items()
    return package, version


def cache_dir(name: str) -> Path:
    cache = Path(os.environ.get("PHASEO_MCP_CACHE", ROOT / ".cache"))
    package, version = pinned(name)
    lock = hashlib.sha256((HERE / name / "package-lock.json").read_bytes()).hexdigest()[:10]
    return cache / "tsclient" / f"{package.rsplit('/', 1)[-1]}@{version}-{lock}"


def sdk_modules(name: str) -> Path:
    """The installed ``node_modules`` of one SDK (callers check ``exists()``)."""
    return cache_dir(name) / "node_modules"


def install(name: str, timeout: float = 600) -> tuple[str, bool, str]:
    """``npm ci`` one SDK into its cache folder; (name, ok, npm's output tail on failure)."""
    target = cache_dir(name)
    package, _ = pinned(name)
    if (target / "node_modules" / package / "package.json").exists():
        return name, True, ""
    files = {file: HERE / name / file for file in ("package.json", "package-lock.json")}
    ok, detail = npm_install(target, files, ["ci", "--ignore-scripts"], timeout)
    return name, ok, detail


def install_all() -> list[tuple[str, bool, str]]:
    with ThreadPoolExecutor(max_workers=len(SDKS)) as pool:
        return list(pool.map(install, SDKS))


if __name__ == "__main__":
    results = install_all()
    for sdk, ok, detail in results:
        print(f"tsclient {sdk} {'@'.join(pinned(sdk))}: {'ok' if ok else 'FAILED'} {detail}")
    sys.exit(0 if all(ok for _, ok, _ in results) else 1)
