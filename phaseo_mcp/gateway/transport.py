"""The one set of HTTP settings every client of the gateway uses: timeouts, connection limits,
no redirects (a redirect would carry the key elsewhere). The numbers live in ``config.py``."""

from __future__ import annotations

from typing import Any

import httpx

from phaseo_mcp.config import MAX_IDLE_UPSTREAM_CONNECTIONS, MAX_UPSTREAM_CONNECTIONS, Settings


def client_options(*, connect: float, read: float) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` or ``httpx.AsyncClient``."""
    return {
        "timeout": httpx.Timeout(read, connect=connect),
        "follow_redirects": False,
        "limits": httpx.Limits(
            max_connections=MAX_UPSTREAM_CONNECTIONS,
            max_keepalive_connections=MAX_IDLE_UPSTREAM_CONNECTIONS,
        ),
    }


def upstream_client(settings: Settings) -> httpx.AsyncClient:
    """The server's shared client (reads time out in scaled time, like every other wait)."""
    return httpx.AsyncClient(
        **client_options(
            connect=settings.connect_timeout_seconds,
            read=settings.read_timeout_seconds / settings.time_scale,
        )
    )
