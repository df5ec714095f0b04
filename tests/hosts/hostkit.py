"""What the host tests share: the emulator and the HTTP server as subprocesses, a throwaway HOME
per host run, the scripted conversation the stand-in model APIs replay, and a loopback HTTP
server to serve those APIs from.

The script is decided from what the host sends back, never from the MCP server directly: the
stand-in reads each tool result out of the conversation the host posts to it, so the video id
in ``wait_for_video``'s arguments proves the host delivered ``create_video``'s result to the
model.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import SUNRISE, TEST_KEY, TIME_SCALE, stop_process
from hostcache import host_binary, install
from uvx import UV_VERSION, build_wheelhouse, install_uv, uvx_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from httpkit import Replica, server_env, start_replica  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
CHECKOUT_PLACEHOLDER = "/path/to/phaseo-mcp"
SERVER = "phaseo"
HOST_TIMEOUT = 240.0  # one host command, start to exit (npm hosts start slowly on 2 cores)
START_TIMEOUT = 30.0
MAX_WAITS = 20
JOB_SECONDS = 3600.0  # emulated; far beyond one wait_for_video budget (50 s)
VIDEO_ID = re.compile(r"\bG-[0-9a-f]{24}\b")  # the emulator's id shape
STATUS = re.compile(r"\b(queued|processing|completed|failed|cancelled|expired|unknown)\b")
TERMINAL = {"completed", "failed", "cancelled", "expired"}
PROMPT = "Make an 8 second video of a sunrise over a lake and save it."
FINAL_PREFIX = "All done."
LISTED = "The phaseo tools I can call: "


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
    """A clean environment with its own HOME and XDG folders: no real configuration is read or
    written, and nothing of the test runner's PHASEO_* settings leaks in."""
    dirs = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
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
        "TMPDIR": str(home / "tmp"),
        **{name: str(path) for name, path in dirs.items()},
    }
    (home / "tmp").mkdir(exist_ok=True)
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


def config_text(name: str) -> str:
    """A shipped config file after the one edit the configs README asks for: the checkout path."""
    path = CONFIGS / name
    if not path.exists():
        pytest.fail(f"configs/{name} is not shipped, so its host cannot load it")
    return path.read_text().replace(CHECKOUT_PLACEHOLDER, str(ROOT))


# ------------------------------------------------------------------ the gateway and the server


@dataclass
class Backend:
    """Where the MCP server sends its gateway calls and saves its files."""

    base_url: str
    output_dir: Path
    state_dir: Path

    def server_env(self) -> dict[str, str]:
        """What the user's shell holds when the host starts: the key the config forwards, and
        the settings a test needs (emulator URL, folders, the emulator's time scale)."""
        return {
            "PHASEO_API_KEY": TEST_KEY,
            "PHASEO_BASE_URL": self.base_url,
            "PHASEO_OUTPUT_DIR": str(self.output_dir),
            "PHASEO_STATE_DIR": str(self.state_dir),
            "PHASEO_TIME_SCALE": str(TIME_SCALE),
            "PHASEO_LOG_LEVEL": "INFO",
        }

    def videos(self) -> list[Path]:
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file())

    def advance(self, seconds: float = JOB_SECONDS) -> None:
        """Move the emulator's clock on, so a running job finishes without a real wait."""
        advance = self.base_url.removesuffix("/v1") + "/_emulator/clock/advance"
        moved = httpx.post(advance, json={"seconds": seconds}, timeout=10)
        moved.raise_for_status()


@contextmanager
def emulator_process(root: Path) -> Iterator[Backend]:
    """``python -m phaseo_mcp.emulator`` on a free loopback port, accepting only TEST_KEY. Its
    jobs outlast a ``wait_for_video`` budget until :meth:`Backend.advance` moves its clock."""
    root.mkdir(parents=True, exist_ok=True)
    log = (root / "emulator.log").open("w")
    cmd = [sys.executable, "-m", "phaseo_mcp.emulator", "--port", "0",
           "--time-scale", str(TIME_SCALE), "--job-seconds", str(JOB_SECONDS),
           "--keys", TEST_KEY]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = _read_line(proc.stdout, START_TIMEOUT)
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, f"the emulator did not start: {line!r}"
        out, state = root / "videos", root / "state"
        out.mkdir(exist_ok=True)
        state.mkdir(exist_ok=True)
        yield Backend(match.group(1), out, state)
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def _read_line(stream: Any, timeout: float) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""


@contextmanager
def http_server_process(backend: Backend, token: str, log: Path) -> Iterator[Replica]:
    """``phaseo-mcp serve --transport http`` with ``PHASEO_MCP_AUTH_TOKENS=token``."""
    env = server_env(backend.base_url, backend.output_dir, backend.state_dir, tokens=token)
    replica = start_replica(env, log)
    try:
        yield replica
    finally:
        stop_process(replica.proc)


_wheels: list[Path] = []
_wheels_lock = threading.Lock()


def wheelhouse(factory: pytest.TempPathFactory) -> Path:
    """The real uv installed, and this checkout's wheels built, once per test session."""
    with _wheels_lock:
        if not _wheels:
            ok, detail = install_uv()
            if not ok:
                pytest.fail(f"uv {UV_VERSION} did not install from PyPI: {detail}")
            _wheels.append(build_wheelhouse(factory.mktemp("wheelhouse")))
        return _wheels[0]


@contextmanager
def shell_for(
    form: str, backend: Backend, home: Path, token: str, factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """What the user's shell holds for a config form, besides the key in
    :meth:`Backend.server_env`: uv on PATH and the local wheels (uvx), or a running
    ``phaseo-mcp serve --transport http`` and its URL and token (http)."""
    if form == "uvx":
        yield uvx_env(wheelhouse(factory), home)
    elif form == "http":
        with http_server_process(backend, token, home.parent / "http-server.log") as replica:
            yield {"PHASEO_MCP_URL": replica.url, "PHASEO_MCP_TOKEN": token}
    else:
        yield {}


# ------------------------------------------------------------------ the scripted model


@dataclass
class ToolCall:
    tool: str  # the server's own tool name; each API module maps it to the host's name
    arguments: dict[str, Any]


@dataclass
class Script:
    """create_video → wait_for_video (until terminal) → download_video → a final answer; or,
    with ``full=False``, only a final answer naming the tools the host offered.

    ``next(results, offered)`` takes the (tool, result text) pairs the host has sent back so
    far, in order, and the server tools the host offers now; it returns the next tool call or
    the final text. ``calls`` records the calls it asked for, ``offered`` every tool it saw,
    ``statuses`` the job status each wait result named.
    """

    full: bool = True
    on_running: Callable[[], None] | None = None  # called when a wait says "still running"
    calls: list[ToolCall] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # each wait result's job status
    offered: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, results: Sequence[tuple[str, str]], offered: Iterable[str]) -> ToolCall | str:
        with self.lock:
            self.offered.update(offered)
            step = self._decide(results) if self.full else LISTED + ", ".join(sorted(offered))
            if isinstance(step, ToolCall):
                self.calls.append(step)
            return step

    def _decide(self, results: Sequence[tuple[str, str]]) -> ToolCall | str:
        if not results:
            return ToolCall("create_video", dict(SUNRISE))
        tool, text = results[-1]
        created = next((t for n, t in results if n.endswith("create_video")), "")
        found = VIDEO_ID.search(created)
        if found is None:
            return f"No video id in the create_video result I was given: {created[:500]}"
        video_id = found.group(0)
        if tool.endswith("download_video"):
            return f"{FINAL_PREFIX} {text}"
        waits = sum(1 for n, _ in results if n.endswith("wait_for_video"))
        if tool.endswith("wait_for_video"):
            self.statuses.append(job_status(text))
            if self.statuses[-1] in TERMINAL:
                return ToolCall("download_video", {"video_id": video_id})
            if self.on_running is not None:
                self.on_running()
        if waits >= MAX_WAITS:
            return f"The job never finished: {text[:500]}"
        return ToolCall("wait_for_video", {"video_id": video_id})


def job_status(text: str) -> str:
    """The job status named in a tool result, as text or as structured JSON."""
    terminal = re.search(r'"terminal"\s*:\s*(true|false)', text)
    status = re.search(r'"status"\s*:\s*"(\w+)"', text) or STATUS.search(text)
    if terminal and terminal.group(1) == "false":
        return "processing"
    return status.group(1) if status else ""


def result_text(content: Any) -> str:
    """A tool result as one string, whatever block or JSON shape the host used."""
    if isinstance(content, str):
        return content
    return json.dumps(content)


Handler = Callable[["ModelRequest"], tuple[int, dict[str, str], bytes]]


@dataclass
class ModelRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class LoopbackApi:
    """A threaded HTTP server on 127.0.0.1 that hands every request to ``handler`` and keeps a
    log of what it was sent (for assertions and for failure messages)."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[ModelRequest] = []
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                request = ModelRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                api.requests.append(request)
                try:
                    status, headers, payload = handler(request)
                except Exception as exc:  # the host shows it; the test log keeps it
                    status, headers = 500, {"content-type": "application/json"}
                    payload = json.dumps({"error": {"message": repr(exc)}}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LoopbackApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]


def sse(events: Sequence[tuple[str | None, Any]]) -> bytes:
    """A complete text/event-stream body."""
    chunks = []
    for name, payload in events:
        head = f"event: {name}\n" if name else ""
        chunks.append(f"{head}data: {json.dumps(payload)}\n\n")
    return "".join(chunks).encode()


def json_reply(payload: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(payload).encode()
