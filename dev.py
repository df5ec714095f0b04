"""The project's two commands, runnable on a fresh machine with only Python >= 3.11, pip and git.

    python3 dev.py demo   # set up .venv and run the demo against the built-in emulator
    python3 dev.py test   # set up .venv (+ system tools the tests use), run ruff, mypy,
                          # lint-imports (the layer contracts in pyproject.toml) and pytest
    python3 dev.py test --quick   # the same without the system tier (hosts, browsers, PostgreSQL…)

Everything is installed into ./.venv and ./.cache; nothing else in the tree is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CACHE = ROOT / ".cache"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
INSPECTOR_VERSION = "2.12.0"
# Debian package -> a program it provides. curl is the download benchmark's baseline; npm (with
# Node.js) installs the MCP Inspector; chromium (driven by puppeteer-core, or chromium-driver)
# runs the inline player's browser test (tests/view), so no test downloads a browser.
APT_PACKAGES = {
    "ffmpeg": "ffprobe",
    "nginx": "nginx",
    "postgresql": "initdb",
    "curl": "curl",
    "npm": "npm",
    "chromium": "chromium",
    "chromium-driver": "chromedriver",
}


def run(*cmd: str | os.PathLike[str], check: bool = True, **kw: object) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=check, **kw).returncode  # type: ignore[call-overload,no-any-return]


def ensure_venv(extras: str) -> None:
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [PY, "-m", "pip", "--disable-pip-version-check", "-q"]
    stamp = VENV / f".installed-{extras or 'base'}"
    inputs = (ROOT / "pyproject.toml").stat().st_mtime
    if stamp.exists() and stamp.stat().st_mtime >= inputs:
        return
    run(*pip, "install", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(*pip, "install", "-e", target, cwd=ROOT)
    stamp.touch()


def _postgres_bin() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or bool(shutil.which("initdb"))


def ensure_system_tools() -> None:
    """Install what the integration tests use (ffmpeg, nginx, PostgreSQL, curl, the MCP Inspector).

    Each is installed once; where installation is impossible the tests that need the tool
    skip and print why.
    """
    missing = [
        pkg
        for pkg, probe in APT_PACKAGES.items()
        if not (shutil.which(probe) or (pkg == "postgresql" and _postgres_bin()))
        and not (pkg == "nginx" and Path("/usr/sbin/nginx").exists())
    ]
    if missing:
        if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            run("apt-get", "update", "-qq", check=False, env=env)
            run(
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                *missing,
                check=False,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        else:
            print(f"note: cannot install {missing} (needs root and apt-get); their tests will skip")
    hosts = threading.Thread(target=install_hosts, daemon=True)
    hosts.start()  # npm is there now; the hosts install while the Inspector does
    inspector = CACHE / "inspector"
    marker = inspector / "node_modules" / "@modelcontextprotocol" / "inspector" / "package.json"
    if not marker.exists():
        if shutil.which("npm"):
            inspector.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "npm_config_loglevel": "error",
                "npm_config_fund": "false",
                "npm_config_audit": "false",
                "npm_config_update_notifier": "false",
            }
            if not (inspector / "package.json").exists():
                (inspector / "package.json").write_text(
                    '{"name":"inspector-host","private":true}\n'
                )
            run(
                "npm",
                "install",
                "--no-save",
                f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}",
                check=False,
                cwd=inspector,
                env=env,
            )
        else:
            print("note: npm is missing; the MCP Inspector tests will skip")
    ensure_ts_clients()
    ensure_oauth_idp()
    ensure_view_modules()
    hosts.join()


def ensure_ts_clients() -> None:
    """The pinned TypeScript MCP SDKs of tests/tsclient, `npm ci` once into .cache/tsclient."""
    if shutil.which("npm"):
        script = ROOT / "tests" / "tsclient" / "tsclient_install.py"
        run(PY, script, check=False, env={**os.environ, "PHASEO_MCP_CACHE": str(CACHE)})


def ensure_oauth_idp() -> None:
    """The pinned OpenID provider of tests/oauth (npm oidc-provider), `npm ci` once into .cache."""
    _npm_installer(ROOT / "tests" / "oauth" / "idp_install.py")


def ensure_view_modules() -> None:
    """The player view's pinned npm trees (its build, the browser test's host), `npm ci` once
    into .cache/view."""
    _npm_installer(ROOT / "tests" / "view" / "viewkit.py")


def _npm_installer(script: Path) -> None:
    if shutil.which("npm"):
        run(PY, script, check=False, env={**os.environ, "PHASEO_MCP_CACHE": str(CACHE)})


def install_hosts() -> None:
    """The pinned host programs, uv, mcp-use, mcp-remote and fast-agent (tests/hosts), once
    per machine, outside the clone. A host that does not install fails its tests, which say
    why."""
    sys.path.insert(0, str(ROOT / "tests" / "hosts"))
    try:
        import hostcache
        import uvx

        results = [*hostcache.install_all(), ("uv", *uvx.install_uv())]
    except Exception as exc:  # a timeout or a missing npm: the host tests report it
        results = [("hosts", False, repr(exc))]
    for name, ok, detail in results:
        if not ok:
            print(f"note: {name} did not install; its tests will fail:\n{detail}")
    run(PY, ROOT / "tests" / "hosts" / "mcpuse.py", check=False, cwd=ROOT / "tests" / "hosts")


def demo() -> int:
    ensure_venv("")
    return run(BIN / "phaseo-mcp", "demo", check=False)


# Test processes (pytest-xdist). Most of a system test is waiting for another program, so two
# workers shorten the run even on two cores; tests/tiers.py keeps each module, and each session
# resource (PostgreSQL, the hosts' wheelhouse), on one worker.
TEST_WORKERS = "2"


def test(pytest_args: list[str]) -> int:
    quick = "--quick" in pytest_args
    pytest_args = [a for a in pytest_args if a != "--quick"]
    ensure_venv("dev")
    if not quick:
        ensure_system_tools()
    env = {**os.environ, "PHASEO_MCP_CACHE": str(CACHE)}
    for step in (
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [BIN / "mypy"],
        [BIN / "lint-imports", "--cache-dir", CACHE / "import-linter"],
    ):
        if run(*step, check=False, cwd=ROOT, env=env) != 0:
            return 1
    tiers = ["-m", "not system"] if quick else []
    chosen = any(a.startswith(("-n", "--numprocesses")) or "no:xdist" in a for a in pytest_args)
    workers = [] if chosen else ["-n", TEST_WORKERS, "--dist", "loadgroup"]
    return run(PY, "-m", "pytest", *workers, *tiers, *pytest_args, check=False, cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    if argv[0] == "demo":
        return demo()
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
