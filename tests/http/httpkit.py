"""Real HTTP servers for the HTTP tests: uvicorn in-process, `phaseo-mcp` replicas, nginx.

Every wait here is bounded, and everything started is stopped (killed if need be) on exit.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

from phaseo_mcp.config import Settings
from phaseo_mcp.server.http import HttpOptions, build_http_app, http_server

from helpers import TEST_KEY, TIME_SCALE, raw_initialize

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
ROOT = Path(__file__).resolve().parents[2]


# A raw initialize request, for tests that speak HTTP without the MCP client.
RAW_INITIALIZE = raw_initialize()
TOKEN_A = "tok-alpha-0123456789abcdef"
TOKEN_B = "tok-bravo-fedcba9876543210"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


async def open_sessions(url: str, count: int, headers: dict[str, str]) -> list[httpx.Response]:
    """``count`` initialize requests at once, each opening (or trying to open) a session."""
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(timeout=30, headers={**MCP_HEADERS, **headers}) as http:

        async def one() -> None:
            answers.append(await http.post(url, json=RAW_INITIALIZE))

        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
    return answers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bound_socket() -> socket.socket:
    """A listening-ready loopback socket: uvicorn takes it, so no port can be stolen."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Served:
    """A uvicorn server running in this process."""

    base: str  # http://127.0.0.1:PORT
    path: str
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return self.base + self.path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


@asynccontextmanager
async def serve_app(
    app: Starlette, sock: socket.socket, path: str = "/mcp"
) -> AsyncIterator[Served]:
    """Serve ``app`` on ``sock`` with uvicorn in this event loop until the block ends."""
    port = sock.getsockname()[1]
    server = http_server(app, HttpOptions(port=port, path=path))
    # uvicorn would take over SIGINT/SIGTERM; the test process keeps its own handlers.
    server.capture_signals = _no_signals  # type: ignore[method-assign]
    done = anyio.Event()

    async def run() -> None:
        try:
            await server.serve([sock])
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        try:
            with anyio.fail_after(START_TIMEOUT):
                while not server.started and not done.is_set():  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            if not server.started:
                raise AssertionError("uvicorn did not start (see the log above)")
            yield Served(f"http://127.0.0.1:{port}", path, server)
        finally:
            server.should_exit = True
            with anyio.move_on_after(STOP_TIMEOUT):
                await done.wait()
            tg.cancel_scope.cancel()


@contextmanager
def _no_signals() -> Iterator[None]:
    yield


@asynccontextmanager
async def serve_phaseo(
    settings: Settings, options: HttpOptions | None = None, **fields: Any
) -> AsyncIterator[Served]:
    """``build_http_app(settings, options)`` served on a free loopback port."""
    sock = bound_socket()
    opts = options or HttpOptions(**fields)
    opts.port = sock.getsockname()[1]
    app = build_http_app(settings, opts)
    try:
        async with serve_app(app, sock, opts.path) as served:
            yield served
    finally:
        sock.close()


@asynccontextmanager
async def mcp_client(
    url: str,
    mode: str = "auto",
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    read_timeout: float = 60.0,
    extensions: Sequence[Any] = (),
    elicitation_callback: Any = None,
) -> AsyncIterator[Client]:
    """The real mcp client over streamable HTTP, in either protocol era (``extensions``:
    client extensions it declares, e.g. Tasks; form elicitation is declared when given an
    ``elicitation_callback``)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    timeout = httpx2.Timeout(30.0, read=read_timeout)
    async with httpx2.AsyncClient(headers=sent, timeout=timeout) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(
            transport,
            mode=mode,
            read_timeout_seconds=read_timeout,
            extensions=list(extensions),
            elicitation_callback=elicitation_callback,
        ) as client:
            yield client


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


# ------------------------------------------------------------------ subprocess replicas


def server_env(
    base_url: str,
    output_dir: Path,
    state_dir: Path,
    *,
    journal_url: str | None = None,
    tokens: str | None = None,
    api_key: str | None = TEST_KEY,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASEO_")}
    env.update(
        PHASEO_BASE_URL=base_url,
        PHASEO_OUTPUT_DIR=str(output_dir),
        PHASEO_STATE_DIR=str(state_dir),
        PHASEO_TIME_SCALE=str(TIME_SCALE),
        PHASEO_TESTING_ZERO_RETRY_WAITS="1",
        PHASEO_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if api_key is not None:
        env["PHASEO_API_KEY"] = api_key
    if journal_url is not None:
        env["PHASEO_JOURNAL_URL"] = journal_url
    if tokens is not None:
        env["PHASEO_MCP_AUTH_TOKENS"] = tokens
    env.update(extra or {})
    return env


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    path: str = "/mcp"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + self.path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serve_command(port: int, *flags: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "phaseo_mcp",
        "serve",
        "--transport",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *flags,
    ]


def start_replica(
    env: Mapping[str, str],
    log: Path,
    flags: Sequence[str] = (),
    attempts: int = 3,
    *,
    port: int | None = None,
) -> Replica:
    """Start ``phaseo-mcp serve --transport http`` and wait until /healthz answers;
    ``port``: this port (one attempt) instead of a free one."""
    failure = ""
    for _ in range(1 if port is not None else attempts):
        # a free port can be taken between probing and binding: hence the attempts
        at = free_port() if port is None else port
        with log.open("ab") as out:
            proc = subprocess.Popen(
                serve_command(at, *flags),
                env=dict(env),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        replica = Replica(proc, at, log)
        failure = _wait_healthy(replica)
        if not failure:
            return replica
        stop_process(proc)
    raise AssertionError(f"replica did not start: {failure}\n{log.read_text(errors='replace')}")


async def launch(
    env: Mapping[str, str], log: Path, flags: Sequence[str] = (), *, port: int | None = None
) -> Replica:
    """:func:`start_replica` off the event loop (the emulator may share this loop)."""
    return await anyio.to_thread.run_sync(
        functools.partial(start_replica, env, log, flags, port=port)
    )


async def terminate(replica: Replica) -> None:
    await anyio.to_thread.run_sync(functools.partial(stop_process, replica.proc))


@asynccontextmanager
async def replica_pair(
    gateway_url: str,
    tmp_path: Path,
    journal_url: str,
    *,
    tokens: str | None = None,
    extra: Mapping[str, str] | None = None,
    ports: tuple[int, int] | None = None,
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Stateless replicas A and B sharing the journal at ``journal_url``, each with its own
    output and state directories and log; ``ports``: fixed ports instead of free ones. Both
    are stopped on exit."""
    started: list[Replica] = []
    try:
        for n, name in enumerate(("a", "b")):
            env = server_env(
                gateway_url,
                tmp_path / f"out-{name}",
                tmp_path / f"state-{name}",
                journal_url=journal_url,
                tokens=tokens,
                extra=extra,
            )
            log = tmp_path / f"replica-{name}.log"
            port = None if ports is None else ports[n]
            started.append(await launch(env, log, ["--stateless"], port=port))
        yield started[0], started[1]
    finally:
        for replica in started:
            await terminate(replica)


def _wait_healthy(replica: Replica) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if replica.proc.poll() is not None:
            return f"exited with {replica.proc.returncode}"
        try:
            if httpx.get(replica.base + "/healthz", timeout=2).status_code == 200:
                return ""
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return f"no /healthz answer within {START_TIMEOUT:.0f} s"


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it lingers; always reaps."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=timeout)


# ------------------------------------------------------------------ nginx


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        pytest.skip("nginx is not installed (python3 dev.py test installs Debian's 'nginx')")
    return found


NGINX_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {root}/access.log upstreams;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream phaseo_mcp {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        # The proxy settings of configs/nginx.conf, without TLS.
        location / {{
            proxy_pass http://phaseo_mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 660s;
            proxy_send_timeout 660s;
            proxy_next_upstream error http_503 non_idempotent;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> str:
        path = self.root / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_nginx(root: Path, upstream_ports: Sequence[int]) -> Iterator[Nginx]:
    """nginx in the foreground with a generated round-robin config under ``root``."""
    binary = nginx_binary()
    root.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstream_ports
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _ in range(3):
            port = free_port()
            (root / "nginx.conf").write_text(
                NGINX_CONF.format(root=root, servers=servers, port=port)
            )
            test = subprocess.run(
                [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-t"],
                capture_output=True,
                timeout=30,
                check=False,
            )
            assert test.returncode == 0, test.stderr.decode(errors="replace")
            with (root / "stderr.log").open("ab") as out:
                proc = subprocess.Popen(
                    [binary, "-p", str(root), "-c", str(root / "nginx.conf")],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if _wait_port(proc, port):
                break
            stop_process(proc)
            proc = None
        if proc is None:
            errors = (root / "error.log").read_text(errors="replace")
            raise AssertionError(f"nginx did not start: {errors}")
        yield Nginx(proc, port, root)
    finally:
        if proc is not None:
            stop_process(proc, timeout=10)


def _wait_port(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ------------------------------------------------------------------ workflow steps

SUNRISE = {
    "model": "google/veo-3.1-lite",
    "prompt": "A cinematic sunrise over a mountain lake",
    "duration": 8,
    "aspect_ratio": "16:9",
}


@dataclass
class Progress:
    """Progress notifications received by one call."""

    events: list[tuple[float, float | None, str | None]]

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    @property
    def values(self) -> list[float]:
        return [e[0] for e in self.events]


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    result = await client.call_tool("create_video", {**SUNRISE, **overrides})
    assert not result.is_error, _text(result.content)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def wait_done(
    client: Client, video_id: str, progress: Progress | None = None, rounds: int = 20
) -> dict[str, Any]:
    """Call wait_for_video until the job is terminal (each call is bounded by the server)."""
    for _ in range(rounds):
        result = await client.call_tool(
            "wait_for_video", {"video_id": video_id}, progress_callback=progress
        )
        assert not result.is_error, _text(result.content)
        assert result.structured_content is not None
        job = dict(result.structured_content)
        if job["terminal"]:
            return job
    raise AssertionError(f"{video_id} never finished")


def _text(content: Sequence[Any]) -> str:
    return "\n".join(getattr(block, "text", "") for block in content)
