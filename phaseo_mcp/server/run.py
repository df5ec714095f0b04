"""Run the server on the transport the command line chose.

On stdio, SIGTERM cancels the running tool calls (their cleanup runs: a download removes its
temp file, the journal is closed) and the process exits promptly.
"""

from __future__ import annotations

import argparse
import logging
import signal

import anyio

from phaseo_mcp.config import Settings
from phaseo_mcp.logs import configure_logging

log = logging.getLogger(__name__)


async def _stdio(settings: Settings) -> None:
    from phaseo_mcp.server.app import build_server

    server = build_server(settings)
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("signal %d: stopping", signum)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(on_signal)
        await server.run_stdio_async()
        tg.cancel_scope.cancel()


def serve(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(settings.log_level)
    if getattr(args, "transport", "stdio") == "http":
        from phaseo_mcp.server.http import run_http

        return run_http(settings, args)
    anyio.run(_stdio, settings)
    return 0
