"""``build_server(settings)``: the MCPServer, its lifespan (one shared httpx client, the
journal, the catalogue cache) and the instructions the model reads first."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio
from mcp.server.mcpserver import Context, MCPServer

from phaseo_mcp import __version__
from phaseo_mcp.clock import Clock
from phaseo_mcp.config import (
    MAX_IDLE_UPSTREAM_CONNECTIONS,
    MAX_UPSTREAM_CONNECTIONS,
    Settings,
)
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.jobs.catalog import CatalogCache
from phaseo_mcp.jobs.recorded import BoundedMap
from phaseo_mcp.jobs.wait import PollPacer
from phaseo_mcp.logs import for_result, register_secret
from phaseo_mcp.server.quota import Quotas
from phaseo_mcp.server.stopping import RunningCalls

if TYPE_CHECKING:
    import httpx
    from mcp.server.auth.provider import TokenVerifier
    from mcp.server.auth.settings import AuthSettings

    from phaseo_mcp.jobs.journal import Journal

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Generate videos with the Phaseo gateway. Each create_video call starts a PAID job.
Workflow: list_video_models (pick a model and only the values it allows) -> create_video
(returns video_id at once) -> wait_for_video (waits up to ~50 s per call; call again while
next_call says so) -> download_video (a verified file, or mode="url" for a signed link).
Every result has next_step and next_call: follow next_call. Never create again after a
timeout or an "outcome unknown" error: call list_videos to find the job instead."""


@dataclass
class AppState:
    """What every tool call shares. The HTTP client and the journal are opened on first use,
    so start-up (spawn → tools/list) pays for neither."""

    settings: Settings
    clock: Clock
    catalog: CatalogCache
    pacer: PollPacer = field(default_factory=PollPacer)
    running: RunningCalls = field(default_factory=RunningCalls)
    quotas: Quotas = field(default_factory=Quotas)
    _http: httpx.AsyncClient | None = None
    _journal: Journal | None = None
    _journal_error: str | None = None
    _journal_lock: anyio.Lock = field(default_factory=anyio.Lock)
    # last (status, cost, error) written per (owner, video id): unchanged polls
    # skip the journal write (see jobs/recorded.py)
    recorded: BoundedMap[tuple[str, str], tuple[object, ...]] = field(default_factory=BoundedMap)
    # creates the gateway answered but the journal could not record: (owner, id) -> row id
    unrecorded_creates: BoundedMap[tuple[str, str], int] = field(default_factory=BoundedMap)
    swept_output_dirs: set[Path] = field(default_factory=set)  # stale temp files removed
    # inline player: the last read of each (owner, video id) it follows (server/player.py)
    player_seen: BoundedMap[tuple[str, str], Any] = field(default_factory=BoundedMap)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = make_http_client(self.settings)
        return self._http

    async def journal(self) -> Journal | None:
        """The journal, opened on first use; None (with the reason logged) if it cannot be."""
        if self._journal is None:  # after a failure, every call tries again (e.g. PostgreSQL back)
            async with self._journal_lock:
                if self._journal is None:
                    await self._open_journal()
        return self._journal

    async def _open_journal(self) -> None:
        from phaseo_mcp.jobs.journal import open_journal
        from phaseo_mcp.jobs.journal_sqlite import (
            DEFAULT_BUSY_TIMEOUT_SECONDS,
            MIN_BUSY_TIMEOUT_SECONDS,
        )

        settings = self.settings
        busy = max(DEFAULT_BUSY_TIMEOUT_SECONDS / settings.time_scale, MIN_BUSY_TIMEOUT_SECONDS)
        try:
            self._journal = await anyio.to_thread.run_sync(
                lambda: open_journal(
                    journal_url=settings.journal_url,
                    state_dir=settings.state_dir,
                    busy_timeout_seconds=busy,
                )
            )
            self._journal_error = None
        except Exception as exc:  # the server keeps serving; creates say what to fix
            raw = str(exc) or type(exc).__name__
            log.error("job journal unavailable: %s", raw[:700])
            self._journal_error = for_result(raw)[:700]  # results may not show server paths

    @property
    def journal_error(self) -> str | None:
        """Why the journal could not be opened at the last try (None: it is open)."""
        return self._journal_error

    async def require_journal(self) -> Journal:
        journal = await self.journal()
        if journal is None:
            raise ConfigError(
                f"The job journal is unavailable ({self._journal_error}). Nothing was sent to "
                "the gateway. Set PHASEO_STATE_DIR to a writable directory (or "
                "PHASEO_JOURNAL_URL) and restart the server."
            )
        return journal

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._journal is not None:
            self._journal.close()


def state_of(ctx: Context) -> AppState:
    return cast(AppState, ctx.request_context.lifespan_context)


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    import httpx

    timeout = httpx.Timeout(
        settings.read_timeout_seconds / settings.time_scale,
        connect=settings.connect_timeout_seconds,
    )
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(
            max_connections=MAX_UPSTREAM_CONNECTIONS,
            max_keepalive_connections=MAX_IDLE_UPSTREAM_CONNECTIONS,
        ),
    )


def build_server(
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
    running: RunningCalls | None = None,
) -> MCPServer:
    """``running``: pass one to stop this server's tool calls from outside (on SIGTERM)."""
    register_secret(settings.api_key_value(), pin=True)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        clock = Clock(settings.time_scale)
        state = AppState(
            settings=settings,
            clock=clock,
            catalog=CatalogCache(settings.catalog_ttl_seconds, clock),
            running=running or RunningCalls(),
        )
        try:
            yield state
        finally:
            with anyio.CancelScope(shield=True):
                await state.aclose()

    extra: dict[str, Any] = {}
    if token_verifier is not None:
        extra.update(token_verifier=token_verifier, auth=auth)
    from phaseo_mcp.server.app_only import AppOnlyTools
    from phaseo_mcp.server.player import build_apps

    server = MCPServer(
        "phaseo-mcp",
        version=__version__,
        title="Phaseo video",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=cast(Any, settings.log_level),
        extensions=[build_apps(settings)],
        middleware=[AppOnlyTools()],
        **extra,
    )
    from phaseo_mcp.server.resources import register_resources
    from phaseo_mcp.server.strict_args import harden_tools
    from phaseo_mcp.server.tools import register_tools

    register_tools(server)
    register_resources(server)
    harden_tools(server)
    return server
