"""What the Claude Code and Gemini CLI tests share: the emulator as their backend, the scripted
conversation the stand-in model APIs replay, and a loopback HTTP server to serve those APIs
from.

The script is decided from what the host sends back, never from the MCP server directly: the
stand-in reads each tool result out of the conversation the host posts to it, so the video id
in ``wait_for_video``'s arguments proves the host delivered ``create_video``'s result to the
model.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from helpers import PINNED_CONFIRMATION, SUNRISE, TEST_KEY, TIME_SCALE, mp4_boxes, stdio_env
from local_servers import advance_clock, emulator_process, host_env

SERVER = "phaseo"
MAX_WAITS = 20
JOB_SECONDS = 3600.0  # emulated; far beyond one wait_for_video budget (50 s)
VIDEO_ID = re.compile(r"\bG-[0-9a-f]{24}\b")  # the emulator's id shape
STATUS = re.compile(r"\b(queued|processing|completed|failed|cancelled|expired|unknown)\b")
TERMINAL = {"completed", "failed", "cancelled", "expired"}
PROMPT = "Make an 8 second video of a sunrise over a lake and save it."
FINAL_PREFIX = "All done."
LISTED = "The phaseo tools I can call: "


# ------------------------------------------------------------------ the gateway and the server


@dataclass
class Backend:
    """Where the MCP server sends its gateway calls and saves its files."""

    base_url: str
    output_dir: Path
    state_dir: Path

    def server_env(self) -> dict[str, str]:
        """What the user's shell holds for the server when the host starts."""
        return stdio_env(
            self.base_url,
            self.output_dir,
            self.state_dir,
            PHASEO_LOG_LEVEL="INFO",
            **PINNED_CONFIRMATION,
        )

    def videos(self) -> list[Path]:
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file())

    def advance(self, seconds: float = JOB_SECONDS) -> None:
        """Move the emulator's clock on, so a running job finishes without a real wait."""
        advance_clock(self.base_url, seconds)


@dataclass
class User:
    """One test's user: the emulator behind the server, an own HOME, a project folder, and what
    the shell holds for the config form under test."""

    backend: Backend
    home: Path
    project: Path
    shell: dict[str, str]

    def env(self, **host: str) -> dict[str, str]:
        """The host's environment: its own settings, then the server's, then the form's."""
        return host_env(self.home, **host, **self.backend.server_env(), **self.shell)


@contextmanager
def backend_process(root: Path) -> Iterator[Backend]:
    """The emulator, accepting only TEST_KEY, with folders for the server. Its jobs outlast a
    ``wait_for_video`` budget until :meth:`Backend.advance` moves its clock."""
    flags = ["--time-scale", str(TIME_SCALE), "--job-seconds", str(JOB_SECONDS),
             "--keys", TEST_KEY]  # fmt: skip
    with emulator_process(root, *flags) as url:
        out, state = root / "videos", root / "state"
        out.mkdir(exist_ok=True)
        state.mkdir(exist_ok=True)
        yield Backend(url, out, state)


def assert_full_run(script: Script, backend: Backend, final: str) -> None:
    """The model called create → wait (until the clock moved on) → download, waited on the id
    the host gave back, and was told the path of the one MP4 on disk."""
    calls = [c.tool for c in script.calls]
    assert calls[0] == "create_video" and calls[-1] == "download_video", (calls, final)
    assert set(calls[1:-1]) == {"wait_for_video"}, calls
    # the first wait ran out its budget, the clock moved on, and a later wait saw it complete
    assert script.statuses[0] in ("queued", "processing"), script.statuses
    assert script.statuses[-1] == "completed", script.statuses
    videos = backend.videos()
    assert len(videos) == 1, (videos, final)
    video_id = videos[0].stem
    assert all(c.arguments.get("video_id") == video_id for c in script.calls[1:])
    assert mp4_boxes(videos[0])[0] == "ftyp"
    assert final.startswith(FINAL_PREFIX), final
    assert str(videos[0]) in final  # the saved path reached the model


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
