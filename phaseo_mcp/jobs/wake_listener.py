"""Hear webhook events recorded by any replica: PostgreSQL ``LISTEN`` on one connection.

``record_event`` sends ``NOTIFY`` in the transaction that records an event, so a waiter on
replica B wakes for an event replica A received, through the journal's own database (no
extra broker). A lost connection is reopened after a pause; meanwhile waits fall back to
their (slower) polling, so a broken listener costs latency, never a stuck wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from phaseo_mcp.jobs.journal import redact_url
from phaseo_mcp.jobs.webhook_events import CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 5.0


async def listen_for_events(journal_url: str, wake: Callable[[str], object]) -> None:
    """Call ``wake(video_id)`` for every notification, forever (cancel to stop)."""
    import psycopg

    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                journal_url, autocommit=True, application_name="phaseo-mcp-webhooks"
            )
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                log.info("webhook listener ready: events other replicas record wake waits here")
                async for note in conn.notifies():
                    wake(note.payload)
        except psycopg.Error as exc:
            log.warning(
                "webhook listener on %s lost its connection (%s); waits poll meanwhile",
                redact_url(journal_url),
                type(exc).__name__,
            )
        await anyio.sleep(RECONNECT_SECONDS)
