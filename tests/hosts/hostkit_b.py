"""Shared parts of the Codex and opencode host tests: isolated homes, the emulator and the HTTP
server as subprocesses, the shipped config files after the README's edits, the uvx wheelhouse.

Every host runs with its own temporary HOME and XDG folders, so no real configuration is read
or written; every process started here is stopped on exit; every wait is bounded.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import TEST_KEY, TIME_SCALE, mp4_boxes, stop_process
from hostcache import host_binary, install
from uvx import build_wheelhouse, install_uv, uv_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from httpkit import Replica, server_env, start_replica  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
PLACEHOLDER_CHECKOUT = "/path/to/phaseo-mcp"
PLACEHOLDER_URL = "http://127.0.0.1:8000/mcp"
TOKEN = "hosts-b-token-0123456789abcdef0123"
START_TIMEOUT = 30.0


def host(name: str) -> Path:
    """The pinned host program, installed into the shared cache if it is not there yet."""
    _, ok, detail = install(name)
    assert ok, f"the pinned {name} did not install:\n{detail}"
    return host_binary(name)


@dataclass
class Box:
    """One test's private world: a HOME, a project folder, the server's output and state."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def output_dir(self) -> Path:
        return self.root / "videos"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment: only this box's HOME/XDG folders, uv first on PATH."""
        path = f"{uv_binary().parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        values = {
            "PATH": path,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        values.update(extra)
        return values


def make_box(root: Path, wheelhouse: Path | None = None) -> Box:
    """Create the folders; with a wheelhouse, a user-level uv.toml that resolves only from it
    (hosts pass a server only some variables, but always HOME, so uv's own config file is how
    the test reaches ``uvx``)."""
    box = Box(root)
    for folder in (box.home / ".config", box.project, box.output_dir, box.state_dir, root / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    if wheelhouse is not None:
        uv_config = box.home / ".config" / "uv" / "uv.toml"
        uv_config.parent.mkdir(parents=True, exist_ok=True)
        uv_config.write_text(
            f'no-index = true\nfind-links = ["{wheelhouse}"]\npython-downloads = "never"\n'
        )
    return box


def server_values(base_url: str, box: Box) -> dict[str, str]:
    """What the stdio server needs to reach the emulator, at the test time scale."""
    return {
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_BASE_URL": base_url,
        "PHASEO_OUTPUT_DIR": str(box.output_dir),
        "PHASEO_STATE_DIR": str(box.state_dir),
        "PHASEO_TIME_SCALE": str(TIME_SCALE),
        "PHASEO_TESTING_ZERO_RETRY_WAITS": "1",
    }


def shipped(name: str, *, url: str = "") -> str:
    """A file of configs/ after only the edits configs/README.md asks for: the checkout's path
    in place of /path/to/phaseo-mcp, the server's URL in place of the example one."""
    text = (CONFIGS / name).read_text()
    text = text.replace(PLACEHOLDER_CHECKOUT, str(ROOT))
    if url:
        text = text.replace(PLACEHOLDER_URL, url)
    return text


def checkout_script() -> Path:
    script = ROOT / ".venv" / "bin" / "phaseo-mcp"
    assert script.exists(), f"the checkout form needs {script} (python3 dev.py test creates it)"
    return script


@contextmanager
def emulator_process(log: Path) -> Iterator[str]:
    """``phaseo-mcp emulator`` on a free loopback port; yields its base URL."""
    command = [sys.executable, "-m", "phaseo_mcp", "emulator", "--port", "0"]
    command += ["--time-scale", str(TIME_SCALE)]
    with log.open("ab") as err:
        proc = subprocess.Popen(
            command,
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


@contextmanager
def http_server(base_url: str, box: Box, log: Path) -> Iterator[Replica]:
    """``phaseo-mcp serve --transport http`` with a bearer token, against the emulator."""
    env = server_env(base_url, box.output_dir, box.state_dir, tokens=TOKEN)
    replica = start_replica(env, log)
    try:
        yield replica
    finally:
        stop_process(replica.proc)


def assert_mp4(path: Path) -> None:
    assert path.is_file(), f"no file at {path}"
    boxes = mp4_boxes(path)
    assert boxes[0] == "ftyp" and "moov" in boxes, boxes


def run(
    command: list[str], env: Mapping[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """A host command, non-interactive (no stdin), bounded, output captured."""
    return subprocess.run(
        command,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


_built: list[Path] = []


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel and its dependencies' wheels, and the real uv, for the uvx forms.
    Built once per session: each test module imports this fixture, which pytest would otherwise
    run once per module."""
    if not _built:
        ok, detail = install_uv()
        assert ok, f"uv did not install:\n{detail}"
        _built.append(build_wheelhouse(tmp_path_factory.mktemp("wheelhouse")))
    return _built[0]
