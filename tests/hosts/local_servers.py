"""Loopback servers the host tests point config files at: the gateway emulator and
``phaseo-mcp serve --transport http`` with a bearer token, each its own process, so tests that
drive another program (a host, a client library) need no event loop of their own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from client_configs import installed_cli
from helpers import TEST_KEY, stop_process
from uvx import build_wheelhouse, install_uv

STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


@contextlib.contextmanager
def _serving(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        _listening(proc, port, log)
        yield
    finally:
        stop_process(proc)


@contextlib.contextmanager
def emulator(tmp: Path) -> Iterator[str]:
    """``phaseo-mcp emulator`` on loopback (jobs finish in about 0.2 s); yields its base URL."""
    port = free_port()
    argv = [str(installed_cli()), "emulator", "--port", str(port), "--job-seconds", "2",
            "--time-scale", "10"]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp)}
    with _serving(argv, env, port, tmp / "emulator.log"):
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def http_server(emulator_url: str, token: str, tmp: Path) -> Iterator[str]:
    """``phaseo-mcp serve --transport http`` accepting ``token``; yields its /mcp URL."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_BASE_URL": emulator_url,
        "PHASEO_OUTPUT_DIR": str(tmp / "videos"),
        "PHASEO_STATE_DIR": str(tmp / "state"),
        "PHASEO_MCP_AUTH_TOKENS": token,
    }
    argv = [str(installed_cli()), "serve", "--transport", "http", "--port", str(port)]
    with _serving(argv, env, port, tmp / "server.log"):
        yield f"http://127.0.0.1:{port}/mcp"


def emulator_jobs(emulator_url: str) -> dict[str, str]:
    """video id -> status of every job the emulator holds."""
    admin = emulator_url.removesuffix("/v1") + "/_emulator/jobs"
    listed = httpx.get(admin, timeout=30).json()
    jobs = listed["jobs"] if isinstance(listed, dict) else listed
    return {job["id"]: job["status"] for job in jobs}


def uvx_wheelhouse(tmp: Path) -> Path:
    """The real uv installed, and this checkout's wheels (with their dependencies) in tmp."""
    ok, detail = install_uv()
    assert ok, detail
    return build_wheelhouse(tmp / "wheels")


def write_uv_config(home: Path, wheels: Path) -> None:
    """A user's uv.toml under ``home`` that resolves ``uvx phaseo-mcp`` from ``wheels`` only.

    Hosts pass a stdio server little more than PATH and HOME, so uv's settings live in the
    user's uv.toml rather than in variables."""
    config = home / ".config" / "uv"
    config.mkdir(parents=True, exist_ok=True)
    (config / "uv.toml").write_text(
        "no-index = true\n"
        f'find-links = ["{wheels}"]\n'
        f'cache-dir = "{wheels.parent / "uv-cache"}"\n'
        'python-downloads = "never"\n',
        encoding="utf-8",
    )
