"""``POST /webhooks/phaseo``: the gateway's signed job events, beside the MCP endpoint.

No bearer token (the gateway has none to send): the HMAC signature is the authentication.
A body over 1 MiB gets 413 without being read further; what a delivery means is decided in
``jobs/webhook_hub.py``. With the PostgreSQL journal every replica also listens for the
events the others record (``jobs/wake_listener.py``), for as long as the app runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from phaseo_mcp.config import WEBHOOK_PATH, Settings
from phaseo_mcp.gateway.webhook_signing import MAX_BODY_BYTES
from phaseo_mcp.jobs.webhook_hub import WebhookHub

log = logging.getLogger(__name__)


class TooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or :class:`TooLarge` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_hub_for(settings: Settings) -> WebhookHub | None:
    """The hub when webhooks are configured; a warning naming what is missing when half are."""
    if settings.webhooks_configured:
        where = settings.webhook_endpoint_id or settings.webhook_url
        log.info("webhooks on: the gateway is asked to send job events to %s", where)
        return WebhookHub(settings)
    if settings.public_url or settings.webhook_endpoint_id or settings.webhook_secret:
        log.warning(
            "webhooks stay off: set both PHASEO_WEBHOOK_SECRET and PHASEO_PUBLIC_URL (or "
            "PHASEO_WEBHOOK_ENDPOINT_ID on R6 gateways); waits poll as usual"
        )
    return None


def add_webhook_route(server: MCPServer, hub: WebhookHub) -> None:
    async def receive(request: Request) -> Response:
        try:
            raw = await read_limited(request)
        except TooLarge:
            log.warning("webhook refused (413): body over %d bytes", MAX_BODY_BYTES)
            return JSONResponse({"error": "body too large"}, status_code=413)
        status, reason = await hub.receive(request.headers, raw)
        return JSONResponse({"status": reason}, status_code=status)

    server.custom_route(WEBHOOK_PATH, methods=["POST"])(receive)


def run_listener_with(app: Starlette, hub: WebhookHub) -> None:
    """Wrap the app's lifespan: listen for other replicas' events (PostgreSQL journal) while
    it runs."""
    inner = app.router.lifespan_context
    url = hub.settings.journal_url
    postgres = bool(url) and str(url).split("://", 1)[0].lower() in {"postgresql", "postgres"}

    @asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[Any]:
        async with inner(application) as state, anyio.create_task_group() as tg:
            if postgres:
                from phaseo_mcp.jobs.wake_listener import listen_for_events

                assert url is not None
                tg.start_soon(listen_for_events, url, hub.board.wake)
            try:
                yield state
            finally:
                tg.cancel_scope.cancel()

    app.router.lifespan_context = lifespan
