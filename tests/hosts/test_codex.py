"""Codex (npm @openai/codex, pinned in pins.py) driven with each shipped configs/codex*.toml.

Each file is appended to a fresh ``$CODEX_HOME/config.toml`` after only the edits the configs
README asks for. ``codex mcp list`` must show the server; Codex's ``app-server`` (JSON-RPC over
stdio) must report it connected, list our tools and call them through Codex's own MCP client.
The checkout form runs the full create -> wait -> download and the MP4 is checked on disk.
Variables the file does not forward (``env_vars``) are added to the server's ``env`` table, the
README's way to set them, with ``-c`` overrides.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from helpers import SUNRISE, TOOL_NAMES, assert_mp4
from hostkit_b import Box, assert_saved_run, checkout_script, make_box
from local_servers import HTTP_TOKEN, require_host, run_host, shipped
from model_openai import scripted_model

pytestmark = pytest.mark.slow
RPC_TIMEOUT = 60.0
STARTUP_TIMEOUT = 120.0  # uvx builds the server's environment on first start


def codex_settings(model_url: str) -> str:
    """The user's own config.toml before our file is appended: no update checks, no analytics,
    no plugin sync, and the model provider on loopback (the scripted model of model_openai.py;
    app-server also warms a model connection up at thread start)."""
    return f"""\
model = "scripted"
model_provider = "scripted"
check_for_update_on_startup = false

[analytics]
enabled = false

# Off: they reach GitHub and ChatGPT at startup (no network here, and none wanted in a test).
[features]
plugins = false
apps = false

[model_providers.scripted]
name = "Scripted"
base_url = "{model_url}"
wire_api = "responses"

"""


def env_overrides(config: str, values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split the server's variables: those the file forwards (``env_vars``) go into Codex's own
    environment, the others into the server's ``env`` table."""
    server = tomllib.loads(config)["mcp_servers"]["phaseo"]
    forwarded = set(server.get("env_vars", []))
    shell = {k: v for k, v in values.items() if k in forwarded}
    flags: list[str] = []
    for name, value in values.items():
        if name not in forwarded:
            flags += ["-c", f"mcp_servers.phaseo.env.{name}={json.dumps(value)}"]
    return shell, flags


class AppServer:
    """A JSON-RPC client for ``codex app-server`` over stdio, every wait bounded."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.proc.stdin.flush()

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("codex app-server did not answer in time") from None
        assert message is not None, "codex app-server closed its stdout"
        if "method" in message and "id" in message:  # a request to us (approvals): refuse
            self.send({"id": message["id"], "error": {"code": -32601, "message": "not handled"}})
        elif "method" in message:
            self.notifications.append(message)
        return message

    def request(self, method: str, params: dict[str, Any], timeout: float = RPC_TIMEOUT) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("id") == ident and "method" not in message:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]

    def notification(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = RPC_TIMEOUT
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for seen in self.notifications:
            if match(seen):
                return seen
        while True:
            message = self._next(deadline)
            if "method" in message and "id" not in message and match(message):
                return message

    def call_tool(self, thread: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        params = {"threadId": thread, "server": "phaseo", "tool": tool, "arguments": arguments}
        result: dict[str, Any] = self.request("mcpServer/tool/call", params, timeout=150)
        return result


@contextmanager
def app_server(
    codex: Path, box: Box, env: Mapping[str, str], flags: list[str], log: Path
) -> Iterator[AppServer]:
    with log.open("a") as err:
        proc = subprocess.Popen(
            [str(codex), "app-server", *flags],
            env=dict(env),
            cwd=box.project,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    try:
        server = AppServer(proc)
        server.request("initialize", {"clientInfo": {"name": "phaseo-tests", "version": "1"}})
        server.send({"method": "initialized"})
        yield server
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result["content"])


def connect(server: AppServer, log: Path) -> str:
    """Start a thread; wait until Codex reports our server ready; check its tools; the thread."""
    thread: str = server.request("thread/start", {})["thread"]["id"]
    status = server.notification(
        lambda m: (
            m["method"] == "mcpServer/startupStatus/updated"
            and m["params"]["name"] == "phaseo"
            and m["params"]["status"] in ("ready", "failed", "cancelled")
        ),
        timeout=STARTUP_TIMEOUT,
    )["params"]
    assert status["status"] == "ready", f"{status}\n{log.read_text(errors='replace')[-3000:]}"
    listed = server.request("mcpServerStatus/list", {"threadId": thread, "serverName": "phaseo"})
    (entry,) = [e for e in listed["data"] if e["name"] == "phaseo"]
    assert entry["runtimeStatus"] in (None, "connected"), entry["runtimeStatus"]
    assert entry["serverInfo"]["name"] == "phaseo-mcp"
    assert set(entry["tools"]) == TOOL_NAMES
    return thread


def setup(
    box: Box, config: str, model_url: str, values: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    codex_home = box.home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(codex_settings(model_url) + config)
    shell, flags = env_overrides(config, values)
    env = box.env(CODEX_HOME=str(codex_home), RUST_LOG="warn", **shell)
    return env, flags


def mcp_list(codex: Path, box: Box, env: Mapping[str, str], flags: list[str]) -> None:
    listed = run_host([str(codex), "mcp", "list", "--json", *flags], env, box.project, timeout=60)
    assert listed.returncode == 0, listed.stderr
    (entry,) = [e for e in json.loads(listed.stdout) if e["name"] == "phaseo"]
    assert entry["enabled"] is True, entry


@contextmanager
def connected(
    tmp_path: Path, name: str, wheelhouse: Path | None = None
) -> Iterator[tuple[AppServer, str, Box]]:
    """Codex with the shipped file ``name`` against the emulator: ``codex mcp list`` shows the
    server, and its app-server has connected to it; (app-server, thread, box)."""
    codex = require_host("codex")
    box = make_box(tmp_path, wheelhouse)
    log = tmp_path / "codex.log"
    with box.emulator() as base_url, scripted_model() as model:
        config = shipped(name)
        env, flags = setup(box, config, model.base_url, box.server_values(base_url))
        mcp_list(codex, box, env, flags)
        with app_server(codex, box, env, flags, log) as server:
            yield server, connect(server, log), box


def test_codex_checkout_full_run(tmp_path: Path) -> None:
    """codex.checkout.config.toml: Codex connects, lists our tools, and its MCP client runs
    create -> wait -> download; the MP4 lands in the output folder."""
    checkout_script()
    with connected(tmp_path, "codex.checkout.config.toml") as (server, thread, box):
        created = server.call_tool(thread, "create_video", dict(SUNRISE))
        assert not created.get("isError"), text_of(created)
        video_id = created["structuredContent"]["video_id"]
        assert video_id in text_of(created)
        for _ in range(20):
            waited = server.call_tool(thread, "wait_for_video", {"video_id": video_id})
            assert not waited.get("isError"), text_of(waited)
            if waited["structuredContent"]["terminal"]:
                break
        assert waited["structuredContent"]["status"] == "completed", text_of(waited)
        done = server.call_tool(thread, "download_video", {"video_id": video_id})
        assert not done.get("isError"), text_of(done)
    (saved,) = done["structuredContent"]["files"]
    path = Path(saved["path"])
    assert path.parent == box.output_dir and str(path) in text_of(done)
    assert_mp4(path)


def test_codex_uvx_connects(tmp_path: Path, wheelhouse: Path) -> None:
    """codex.config.toml: Codex starts ``uvx phaseo-mcp`` (the real uv, this checkout's wheel),
    connects, lists our tools and calls one."""
    with connected(tmp_path, "codex.config.toml", wheelhouse) as (server, thread, _):
        models = server.call_tool(thread, "list_video_models", {})
    assert not models.get("isError"), text_of(models)
    assert "google/veo-3.1-lite" in text_of(models)


def test_codex_http_connects(tmp_path: Path) -> None:
    """codex.http.config.toml: Codex sends the bearer token from PHASEO_MCP_TOKEN to the HTTP
    server, connects, lists our tools and calls one; with a wrong token the server fails."""
    codex = require_host("codex")
    box = make_box(tmp_path)
    log = tmp_path / "codex.log"
    with (
        box.emulator() as base_url,
        box.http_server(base_url) as server_url,
        scripted_model() as model,
    ):
        config = shipped("codex.http.config.toml", url=server_url)
        env, flags = setup(box, config, model.base_url, {})
        env["PHASEO_MCP_TOKEN"] = HTTP_TOKEN
        mcp_list(codex, box, env, flags)
        with app_server(codex, box, env, flags, log) as server:
            thread = connect(server, log)
            models = server.call_tool(thread, "list_video_models", {})
        wrong = {**env, "PHASEO_MCP_TOKEN": "not-the-token"}
        with app_server(codex, box, wrong, flags, log) as server:
            server.request("thread/start", {})
            refused = server.notification(
                lambda m: (
                    m["method"] == "mcpServer/startupStatus/updated"
                    and m["params"]["status"] not in ("starting", "ready")
                ),
                timeout=STARTUP_TIMEOUT,
            )["params"]
    assert not models.get("isError"), text_of(models)
    assert "google/veo-3.1-lite" in text_of(models)
    # Codex words any 401 as "not logged in. Run `codex mcp login phaseo`"; what matters is
    # that it fails at once, without trying to register an OAuth client.
    assert refused["status"] == "failed", refused
    assert "regist" not in str(refused["error"]).lower(), refused


# For a non-interactive ``codex exec`` the user must let Codex wait for the server before the
# first model turn (without it the model may be asked before our tools are listed) and approve
# its tools up front (exec never asks; create_video and download_video are not read-only).
EXEC_SETTINGS = [
    "-c",
    "mcp_servers.phaseo.required=true",
    "-c",
    'mcp_servers.phaseo.default_tools_approval_mode="approve"',
]


def test_codex_exec_full_run(tmp_path: Path) -> None:
    """codex.checkout.config.toml: ``codex exec`` hands the scripted model our tools and their
    results; the model's create -> wait -> download saves an MP4."""
    codex = require_host("codex")
    checkout_script()
    box = make_box(tmp_path)
    with box.emulator() as base_url, scripted_model() as model:
        config = shipped("codex.checkout.config.toml")
        env, flags = setup(box, config, model.base_url, box.server_values(base_url))
        command = [str(codex), "exec", "--json", "--skip-git-repo-check", *EXEC_SETTINGS, *flags]
        ran = run_host([*command, "Make a video of a sunrise."], env, box.project, timeout=300)
        transcript = model.transcript
    events = assert_saved_run(ran, transcript, box)
    calls = [e["item"] for e in events if e.get("type") == "item.completed"]
    calls = [c for c in calls if c.get("type") == "mcp_tool_call"]
    assert [c["tool"] for c in calls] == transcript.called()
    assert all(c["status"] == "completed" and c["server"] == "phaseo" for c in calls), calls
