"""What every host test runs a host against, each its own process: the gateway emulator,
``phaseo-mcp serve --transport http`` with a bearer token, a private HOME for the host, and the
shipped config files after the edits configs/README.md asks of a user.

Every process started here is stopped on exit; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from helpers import PINNED_CONFIRMATION, stop_process
from hostcache import host_binary, install

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from httpkit import Replica, server_env, start_replica  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
CHECKOUT_PLACEHOLDER = "/path/to/phaseo-mcp"
DEFAULT_URL = "http://127.0.0.1:8000/mcp"  # the README says to put the server's own URL there
START_TIMEOUT = 30.0
HTTP_TOKEN = "hosts-http-test-token-0123456789"  # what the per-module HTTP server accepts
HOST_TIMEOUT = 240.0  # one host command, start to exit (npm hosts start slowly on 2 cores)


# ------------------------------------------------------------------ the host programs


def require_host(name: str) -> Path:
    """The pinned host's binary, installing it if need be; a failed install fails the test."""
    binary = host_binary(name)
    if not binary.exists():
        _, ok, detail = install(name)
        if not ok or not binary.exists():
            pytest.fail(f"the pinned host {name} did not install: {detail}")
    return binary


def host_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment with its own HOME and XDG folders (created): no real configuration
    is read or written, and nothing of the test runner's PHASEO_* settings leaks in."""
    dirs = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
        "TMPDIR": home / "tmp",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "CI": "1",
        **{name: str(path) for name, path in dirs.items()},
    }
    env.update(extra)
    return env


def run_host(
    cmd: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = HOST_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run one host command to completion in its own process group (killed whole on timeout)."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(
            f"{cmd[0]} did not finish within {timeout:.0f} s\nstdout: {out[-3000:]}\n"
            f"stderr: {err[-3000:]}"
        ) from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # servers the host left behind
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def shipped(name: str, *, checkout: Path = ROOT, url: str = "") -> str:
    """A file of configs/ after only the edits configs/README.md asks for: the checkout's path
    in place of /path/to/phaseo-mcp and, given a URL, the server's in place of the example."""
    path = CONFIGS / name
    if not path.exists():
        pytest.fail(f"configs/{name} is not shipped, so its host cannot load it")
    text = path.read_text(encoding="utf-8").replace(CHECKOUT_PLACEHOLDER, str(checkout))
    return text.replace(DEFAULT_URL, url) if url else text


# ------------------------------------------------------------------ the gateway and the server


@contextlib.contextmanager
def emulator_process(root: Path, *flags: str) -> Iterator[str]:
    """``phaseo-mcp emulator`` on a free loopback port (its log in ``root``); yields its base
    URL. ``flags`` go to the emulator (keys, time scale, job length)."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / "emulator.log"
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phaseo_mcp", "emulator", "--port", "0", *flags],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
    try:
        yield _first_url(proc, log)
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def _first_url(proc: subprocess.Popen[bytes], log: Path) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    try:
        for _ in range(100):
            if not selector.select(timeout=START_TIMEOUT / 100):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            found = re.search(rb"http://127\.0\.0\.1:\d+/v1", seen)
            if found:
                return found.group(0).decode()
    finally:
        selector.close()
    raise AssertionError(
        f"the emulator printed no URL: {seen!r}\n{log.read_text(errors='replace')}"
    )


def emulator_jobs(emulator_url: str) -> dict[str, str]:
    """video id -> status of every job the emulator holds."""
    admin = emulator_url.removesuffix("/v1") + "/_emulator/jobs"
    listed = httpx.get(admin, timeout=30).json()
    jobs = listed["jobs"] if isinstance(listed, dict) else listed
    return {job["id"]: job["status"] for job in jobs}


def advance_clock(emulator_url: str, seconds: float) -> None:
    """Move the emulator's clock on, so a running job finishes without a real wait."""
    advance = emulator_url.removesuffix("/v1") + "/_emulator/clock/advance"
    httpx.post(advance, json={"seconds": seconds}, timeout=10).raise_for_status()


@contextlib.contextmanager
def http_server(
    base_url: str, output_dir: Path, state_dir: Path, token: str, log: Path
) -> Iterator[Replica]:
    """``phaseo-mcp serve --transport http`` accepting ``token``, against the emulator."""
    env = server_env(base_url, output_dir, state_dir, tokens=token, extra=PINNED_CONFIRMATION)
    replica = start_replica(env, log)
    try:
        yield replica
    finally:
        stop_process(replica.proc)
