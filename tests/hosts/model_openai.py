"""A scripted stand-in for the OpenAI model APIs, served on loopback: no LLM, one fixed script.

The script is create_video -> wait_for_video (again while the job is not terminal) ->
download_video -> a final text. Every ``video_id`` it sends is read back from the tool result the
host returned, so a finished script proves the host delivered the results to the model.

Both wire formats hosts use are served, streaming (SSE):
- ``POST /v1/chat/completions`` (tool calls as ``tool_calls`` deltas), for opencode's
  ``@ai-sdk/openai-compatible`` provider;
- ``POST /v1/responses`` (``function_call`` output items), for Codex's custom model providers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from helpers import SUNRISE

MAX_WAITS = 10
FINAL_TEXT = "Done: the video is downloaded."
TERMINAL = ("completed", "failed", "expired", "cancelled", "deleted")
_IDS = (
    re.compile(
        r"video_id\W{1,4}(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*)"
    ),  # video_id='G-1', "video_id": "G-1"
    re.compile(r"(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*): [a-z_]+\b"),  # the summary's "G-1: queued"
)


@dataclass
class Step:
    """A tool the script calls next (``tool``), or its final answer (``text``)."""

    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass
class Transcript:
    """What the hosts sent: tool names offered and (tool, result text) pairs, per request."""

    offered: list[list[str]] = field(default_factory=list)
    results: list[tuple[str, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def called(self) -> list[str]:
        """Our tools the model called, by their own names, in order."""
        return [_short(s.tool) for s in self.steps if s.tool]

    def check_script(self) -> str:
        """Assert the whole script ran on ids read from delivered results; the video_id."""
        assert not self.errors, self.errors
        called = self.called()
        assert called[0] == "create_video" and called[-1] == "download_video", called
        assert set(called[1:-1]) == {"wait_for_video"}, called
        assert self.steps[-1].tool is None and self.steps[-1].text.startswith(FINAL_TEXT)
        (video_id,) = {s.arguments["video_id"] for s in self.steps[1:] if s.tool}
        assert video_id in self.results[0][1], self.results[0]
        return str(video_id)


def _full_name(offered: Sequence[str], short: str) -> str:
    """The host's name for one of our tools (hosts prefix the server name: ``phaseo_...``)."""
    for name in offered:
        if name == short or name.endswith(("_" + short, "/" + short)):
            return name
    raise LookupError(f"the host did not offer {short!r} to the model; it offered {offered}")


def _short(name: str) -> str:
    for short in ("create_video", "wait_for_video", "download_video"):
        if name.endswith(short):
            return short
    return name


def video_id_in(text: str) -> str:
    for pattern in _IDS:
        found = pattern.search(text)
        if found:
            return found.group("id")
    raise LookupError(f"no video_id in the tool result the host sent back: {text[:300]!r}")


def status_in(text: str, video_id: str) -> str:
    """The status in the summary ("G-1: completed, cost ...") or in structuredContent."""
    found = re.search(re.escape(video_id) + r": (?P<status>[a-z_]+)", text) or re.search(
        r'"status"\s*:\s*"(?P<status>[a-z_]+)"',
        text,  # hosts that show structuredContent
    )
    return found.group("status") if found else ""


def next_step(offered: Sequence[str], history: Sequence[tuple[str, str]]) -> Step:
    """The script: the step after ``history`` (tool name, result text), oldest first."""
    if not offered:  # a side request without tools (opencode asks for a session title)
        return Step(text="Sunrise video")
    if not history:
        return Step(_full_name(offered, "create_video"), dict(SUNRISE))
    last_tool, last_text = history[-1]
    short = _short(last_tool)
    if short == "download_video":
        return Step(text=f"{FINAL_TEXT}\n{last_text}")
    video_id = video_id_in(last_text)
    waits = sum(1 for tool, _ in history if _short(tool) == "wait_for_video")
    status = status_in(last_text, video_id)
    if status in TERMINAL:
        return Step(_full_name(offered, "download_video"), {"video_id": video_id})
    if not status or waits >= MAX_WAITS:
        return Step(text=f"Gave up after {waits} wait(s): {last_text}")
    return Step(_full_name(offered, "wait_for_video"), {"video_id": video_id})


def _text_of(content: Any) -> str:
    """A tool result's text, whether the host sent a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("output") or "")
    return ""


# ------------------------------------------------------------------ chat completions


def chat_history(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    history: list[tuple[str, str]] = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            tool = names.get(message.get("tool_call_id", ""), "")
            history.append((tool, _text_of(message.get("content"))))
    return history


def chat_offered(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or [] if "function" in t]


def chat_chunks(step: Step, model: str, n: int) -> Iterator[dict[str, Any]]:
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    if step.tool:
        call = {"index": 0, "id": f"call_{n}", "type": "function"}
        arguments = json.dumps(step.arguments)
        yield chunk(
            {"role": "assistant", "tool_calls": [{**call, "function": {"name": step.tool}}]}
        )
        # Arguments arrive in pieces, as from a real model.
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls")
    else:
        yield chunk({"role": "assistant", "content": step.text})
        yield chunk({}, "stop")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    yield {**base, "choices": [], "usage": usage}


# ------------------------------------------------------------------ responses


def responses_history(items: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    history: list[tuple[str, str]] = []
    for item in items:
        if item.get("type") == "function_call":
            namespace = item.get("namespace")
            names[item["call_id"]] = f"{namespace}/{item['name']}" if namespace else item["name"]
        elif item.get("type") == "function_call_output":
            history.append((names.get(item["call_id"], ""), _text_of(item.get("output"))))
    return history


def responses_offered(body: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for tool in body.get("tools") or []:
        if tool.get("type") == "function":
            names.append(tool["name"])
        for inner in tool.get("tools") or []:  # a namespace: called as namespace + name
            names.append(f"{tool.get('name', '')}/{inner.get('name', '')}")
    return names


def responses_events(step: Step, model: str, n: int) -> Iterator[dict[str, Any]]:
    response = {"id": f"resp_{n}", "object": "response", "model": model, "status": "in_progress"}
    yield {"type": "response.created", "response": response}
    if step.tool:
        namespace, _, name = step.tool.rpartition("/")
        item: dict[str, Any] = {
            "type": "function_call",
            "id": f"fc_{n}",
            "call_id": f"call_{n}",
            "name": name,
            "arguments": json.dumps(step.arguments),
            "status": "completed",
        }
        if namespace:
            item["namespace"] = namespace
    else:
        part = {"type": "output_text", "text": step.text, "annotations": []}
        item = {"type": "message", "id": f"msg_{n}", "role": "assistant", "content": [part]}
        item["status"] = "completed"
    yield {"type": "response.output_item.added", "output_index": 0, "item": item}
    yield {"type": "response.output_item.done", "output_index": 0, "item": item}
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    done = {**response, "status": "completed", "output": [item], "usage": usage}
    yield {"type": "response.completed", "response": done}


# ------------------------------------------------------------------ the server


class _Handler(BaseHTTPRequestHandler):
    server: _ModelServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": "scripted", "object": "model"}]})
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        transcript = self.server.transcript
        try:
            if self.path.endswith("/chat/completions"):
                offered, history = chat_offered(body), chat_history(body.get("messages") or [])
                events: Any = chat_chunks
            elif self.path.endswith("/responses"):
                offered, history = responses_offered(body), responses_history(body["input"])
                events = responses_events
            else:
                self._json({"error": {"message": f"no route {self.path}"}}, 404)
                return
            step = next_step(offered, history)
        except (LookupError, KeyError) as exc:
            with transcript.lock:
                transcript.errors.append(str(exc))
            self._json({"error": {"message": str(exc), "type": "invalid_request_error"}}, 400)
            return
        with transcript.lock:
            transcript.requests += 1
            n = transcript.requests
            if offered:
                transcript.offered.append(offered)
                transcript.results = list(history)
                transcript.steps.append(step)
        self._stream(events(step, str(body.get("model", "scripted")), n))

    def _json(self, value: Any, status: int = 200) -> None:
        raw = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self, events: Iterator[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events:
            kind = event.get("type")
            head = (
                f"event: {kind}\n" if isinstance(kind, str) and kind.startswith("response.") else ""
            )
            self.wfile.write(f"{head}data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    transcript: Transcript


@dataclass
class ModelApi:
    base_url: str  # http://127.0.0.1:PORT/v1
    transcript: Transcript


@contextmanager
def scripted_model() -> Iterator[ModelApi]:
    """The scripted model API on a free loopback port until the block ends."""
    server = _ModelServer(("127.0.0.1", 0), _Handler)
    server.transcript = Transcript()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield ModelApi(f"http://127.0.0.1:{server.server_address[1]}/v1", server.transcript)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
