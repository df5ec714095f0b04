"""``build_server(settings)``: the MCPServer, its lifespan (one shared httpx client, the
journal, the catalogue cache) and the instructions the model reads first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import anyio
from mcp.server.mcpserver import MCPServer

from phaseo_mcp import __version__
from phaseo_mcp.clock import Clock
from phaseo_mcp.config import DEFAULT_WAIT_TIMEOUT_SECONDS, Settings
from phaseo_mcp.jobs.catalog import CatalogCache
from phaseo_mcp.logs import register_secret
from phaseo_mcp.server.confirm import state_security
from phaseo_mcp.server.middleware import server_middleware
from phaseo_mcp.server.resources import register_resources
from phaseo_mcp.server.state import AppState
from phaseo_mcp.server.stopping import RunningCalls
from phaseo_mcp.server.tasks import VideoTasks
from phaseo_mcp.server.tools import build_tools

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier
    from mcp.server.auth.settings import AuthSettings

    from phaseo_mcp.jobs.webhook_hub import WebhookHub

_WAIT = DEFAULT_WAIT_TIMEOUT_SECONDS
INSTRUCTIONS = f"""\
Generate videos with the Phaseo gateway. Each create_video call starts a PAID job.
Workflow: list_video_models (pick a model and only the values it allows) -> create_video
(returns video_id at once) -> wait_for_video (waits up to ~{_WAIT} s per call; call again while
next_call says so) -> download_video (a verified file, or mode="url" for a signed link).
Every result has next_step and next_call: follow next_call. Never create again after a
timeout or an "outcome unknown" error: call list_videos to find the job instead."""


def build_server(
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
    running: RunningCalls | None = None,
    clock: Clock | None = None,
    webhooks: WebhookHub | None = None,
) -> MCPServer:
    """``running``: pass one to stop this server's tool calls from outside (on SIGTERM).
    ``clock``: the time its waits, budgets and caches follow (tests pass one they advance)."""
    register_secret(settings.api_key_value(), pin=True)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        clock_now = clock or Clock(settings.time_scale)
        state = AppState(
            settings=settings,
            clock=clock_now,
            catalog=CatalogCache(settings.catalog_ttl_seconds, clock_now),
            running=running or RunningCalls(),
            webhooks=webhooks,
        )
        if webhooks is not None:
            webhooks.journal_source = state.journal
        try:
            yield state
        finally:
            with anyio.CancelScope(shield=True):
                await state.aclose()

    extra: dict[str, Any] = {}
    if token_verifier is not None:
        extra.update(token_verifier=token_verifier, auth=auth)
    tools = build_tools(settings)
    from phaseo_mcp.server.player import build_apps

    server = MCPServer(
        "phaseo-mcp",
        version=__version__,
        title="Phaseo video",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=tools,
        middleware=server_middleware(tools),
        log_level=cast(Any, settings.log_level),
        request_state_security=state_security(settings),
        extensions=[build_apps(settings), VideoTasks()],
        **extra,
    )
    register_resources(server)
    return server
