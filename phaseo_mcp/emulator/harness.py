"""Serving the emulator with uvicorn on loopback, inside the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Generator, Mapping
from typing import Any

import anyio
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from phaseo_mcp.emulator.admin import build_admin
from phaseo_mcp.emulator.app import build_app
from phaseo_mcp.emulator.config import EmulatorConfig, JobPlan
from phaseo_mcp.emulator.faults import Faults
from phaseo_mcp.emulator.middleware import Connections, FaultMiddleware
from phaseo_mcp.emulator.state import Clock, Counters, EmulatorState, Job, RecordedRequest
from phaseo_mcp.emulator.webhooks import WebhookDispatcher

log = logging.getLogger("phaseo_mcp.emulator")


class EmulatorHandle:
    """What a running emulator offers its caller: URL, clock, counters, faults and plans."""

    def __init__(self, state: EmulatorState, faults: Faults, webhooks: WebhookDispatcher) -> None:
        self.state = state
        self.faults = faults
        self.webhooks = webhooks

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return self.state.base_url

    @property
    def root_url(self) -> str:
        return self.state.base_url.removesuffix("/v1")

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def counters(self) -> Counters:
        return self.state.counters

    @property
    def received(self) -> Mapping[str, list[Any]]:
        return self.state.received

    @property
    def requests(self) -> Mapping[str, list[RecordedRequest]]:
        return self.state.requests

    @property
    def jobs(self) -> Mapping[str, Job]:
        return self.state.jobs

    def plan_next_job(self, plan: JobPlan) -> None:
        """Queue how the next created job behaves (plans are consumed first in, first out)."""
        self.state.next_plans.append(plan)

    def plan_job(self, video_id: str, plan: JobPlan) -> None:
        """Replace the plan of an existing job (its timing stays anchored at its creation)."""
        self.state.jobs[video_id].plan = plan

    def reset(self) -> None:
        """Clear faults, counters, received bodies and plans; jobs stay."""
        self.faults.clear()
        self.state.reset()


def _protocol_class(connections: Connections) -> type[H11Protocol]:
    class EmulatorH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            connections.made(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            connections.lost(self.client)

    return EmulatorH11Protocol


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # leave signal handling to the caller's application


@contextlib.asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[EmulatorHandle]:
    """Serve the emulator on a loopback port until the block exits."""
    config = config or EmulatorConfig()
    state = EmulatorState(config)
    faults = Faults()
    connections = Connections()
    app = FaultMiddleware(build_app(state), build_admin(state, faults), state, faults, connections)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted sockets (no 40 ms Nagle stalls).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    state.base_url = (config.public_base_url or f"http://{host}:{port}").rstrip("/") + "/v1"
    server = _Server(
        uvicorn.Config(
            app,
            http=_protocol_class(connections),
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    webhooks = WebhookDispatcher(state, faults)
    handle = EmulatorHandle(state, faults, webhooks)
    stopped = anyio.Event()

    async def serve() -> None:
        try:
            await server.serve([sock])
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            while not server.started:
                if stopped.is_set():
                    raise RuntimeError("the emulator's server failed to start")
                await anyio.sleep(0.005)
            tg.start_soon(webhooks.run)
            log.info("emulator serving %s", state.base_url)
            try:
                yield handle
            finally:
                server.should_exit = True
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await stopped.wait()
                tg.cancel_scope.cancel()
    finally:
        sock.close()
