"""``AppState``: what every tool call shares (settings, clock, catalogue cache, the HTTP
client and the journal, opened on first use), and ``state_of(ctx)`` to reach it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio
from mcp.server.mcpserver import Context

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import (
    Settings,
)
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.jobs.catalog import CatalogCache
from phaseo_mcp.jobs.recorded import BoundedMap
from phaseo_mcp.jobs.wait import PollPacer
from phaseo_mcp.logs import for_result
from phaseo_mcp.server.quota import Quotas
from phaseo_mcp.server.stopping import RunningCalls

if TYPE_CHECKING:
    import httpx

    from phaseo_mcp.jobs.journal import Journal
    from phaseo_mcp.jobs.webhook_hub import WebhookHub

log = logging.getLogger(__name__)


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
    webhooks: WebhookHub | None = None  # HTTP with webhooks configured (jobs/webhook_hub.py)
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
        # On first use, not at start-up: sqlite3 and the journal modules (python -X importtime)
        from phaseo_mcp.jobs.journal_open import open_journal
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
    # On the first gateway call: httpx is about 0.1 s of start-up otherwise.
    from phaseo_mcp.gateway.transport import upstream_client

    return upstream_client(settings)
