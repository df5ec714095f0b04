"""Run the server on the transport the command line chose.

On stdio, SIGTERM stops the running tool calls (their clean-up runs: a download removes its
temp file), each answers that the server stopped it and what to call next, the journal is
closed and the process exits promptly.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import signal
import sys
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from phaseo_mcp.config import Settings
from phaseo_mcp.logs import configure_logging
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.sdk_seam import lowlevel_server
from phaseo_mcp.server.stdio_guard import GuardedLines
from phaseo_mcp.server.stdio_pipes import PipeWriter, pipe_stdio
from phaseo_mcp.server.stopping import RunningCalls

log = logging.getLogger(__name__)
HTTP_ONLY_FLAGS = {
    "--host": "host",
    "--port": "port",
    "--path": "path",
    "--stateless": "stateless",
    "--allowed-host": "allowed_host",
    "--server-files": "server_files",
    "--multi-user": "multi_user",
    "--insecure-no-auth": "insecure_no_auth",
}
DEFAULTS: dict[str, object] = {"host": "127.0.0.1", "port": 8000, "path": "/mcp"}
# SIGTERM on stdio: running calls get this long to clean up (a download removes its temp
# file), then their answers this long to reach the client, all well within 10 s.
STOP_CALLS_SECONDS = 3.0
WRITE_ANSWERS_SECONDS = 2.0


class _CancellableStdin(anyio.AsyncFile[str]):
    """Fallback stdin (not a pipe): a pending read can be abandoned, so a signal still stops
    the server. The SDK's reader waits in a thread that no cancellation interrupts."""

    async def readline(self) -> str:
        return await anyio.to_thread.run_sync(self.wrapped.readline, abandon_on_cancel=True)


async def _answer_running_calls(running: RunningCalls, out: PipeWriter | None) -> None:
    """Stop the tool calls in progress; each answers that the server stopped it and what to
    call next. Returns once those answers are on the wire (or after a bounded wait)."""
    if out is not None:
        out.expect(running.request_ids())
    stopped = await running.stop(STOP_CALLS_SECONDS)
    if out is not None:
        await out.wait_answers(WRITE_ANSWERS_SECONDS)
    elif stopped:  # threaded fallback: no way to watch the writes, give them a moment
        await anyio.sleep(0.2)


async def _serve_stdio(server: MCPServer, wire: list[PipeWriter]) -> None:
    """Serve until stdin ends; the pipe writer (when stdio is a pair of pipes) goes in ``wire``."""
    lowlevel = lowlevel_server(server)  # what MCPServer.run_stdio_async runs, with our streams
    options = lowlevel.create_initialization_options()
    async with contextlib.AsyncExitStack() as stack:
        try:
            stdin, stdout = await stack.enter_async_context(pipe_stdio())
        except (OSError, ValueError) as exc:  # not a pair of pipes (a file, a terminal…)
            log.debug("stdio is not a pair of pipes (%s); reading in threads", exc)
            text = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
            lines = GuardedLines(aiter(_CancellableStdin(text)))
            transport = stdio_server(stdin=cast(Any, lines))
        else:
            wire.append(stdout)
            lines = GuardedLines(stdin)
            # stdio_server only iterates stdin and awaits stdout.write/flush: the pipe
            # adapters provide exactly that.
            transport = stdio_server(stdin=cast(Any, lines), stdout=cast(Any, stdout))
        read, write = await stack.enter_async_context(transport)
        lines.answer_through(write.send)
        await lowlevel.run(read, write, options)


async def _stdio(settings: Settings) -> None:
    running = RunningCalls()
    server = build_server(settings, running=running)
    stopped_by: list[int] = []
    wire: list[PipeWriter] = []
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("signal %d: stopping", signum)
                    stopped_by.append(signum)
                    await _answer_running_calls(running, wire[0] if wire else None)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(on_signal)
        await _serve_stdio(server, wire)
        tg.cancel_scope.cancel()
    if stopped_by:
        # Every tool call has been cancelled and cleaned up and the lifespan has closed the
        # journal. With the threaded fallback an abandoned thread may still block on stdin:
        # leave without waiting for it (shutdown would join it until the client closes stdin).
        logging.shutdown()
        os._exit(0)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(settings.log_level)
    if getattr(args, "transport", "stdio") != "http":
        http_only = [
            flag
            for flag, attr in HTTP_ONLY_FLAGS.items()
            if getattr(args, attr, None) not in (None, False, [], DEFAULTS.get(attr))
        ]
        if http_only:
            log.error("%s only apply to --transport http", ", ".join(http_only))
            return 2
    if getattr(args, "transport", "stdio") == "http":
        from phaseo_mcp.server.http import run_http  # uvicorn: not loaded for stdio

        return run_http(settings, args)
    anyio.run(_stdio, settings)
    return 0
