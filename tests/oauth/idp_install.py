"""Install the pinned OpenID provider (npm ``oidc-provider``) once, into
``.cache/oauth-idp/oidc-provider@<version>-<lock hash>``.

``idp/package.json`` pins one exact version and the committed ``package-lock.json`` fixes the
tree; ``npm ci`` installs exactly that. ``dev.py test`` calls :func:`install`; the tests call
:func:`idp_modules` and install on first use when it is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hosts"))
from hostcache import npm_install  # noqa: E402

IDP = HERE / "idp"


def pinned() -> tuple[str, str]:
    deps: dict[str, str] = json.loads((IDP / "package.json").read_text())["dependencies"]
    ((package, version),) = deps.items()
    return package, version


def cache_dir() -> Path:
    cache = Path(os.environ.get("PHASEO_MCP_CACHE", ROOT / ".cache"))
    package, version = pinned()
    lock = hashlib.sha256((IDP / "package-lock.json").read_bytes()).hexdigest()[:10]
    return cache / "oauth-idp" / f"{package}@{version}-{lock}"


def idp_modules() -> Path:
    """The installed ``node_modules`` (callers check ``exists()``)."""
    return cache_dir() / "node_modules"


def install(timeout: float = 600) -> tuple[bool, str]:
    """``npm ci`` the provider into its cache folder; (ok, npm's output tail on failure)."""
    target = cache_dir()
    package, _ = pinned()
    if (target / "node_modules" / package / "package.json").exists():
        return True, ""
    files = {name: IDP / name for name in ("package.json", "package-lock.json")}
    return npm_install(target, files, ["ci", "--ignore-scripts"], timeout)


if __name__ == "__main__":
    ok, detail = install()
    print(f"oauth idp {'@'.join(pinned())}: {'ok' if ok else 'FAILED'} {detail}")
    sys.exit(0 if ok else 1)
