"""Webhooks end to end, below the server: which creates carry ours, and what a delivery does.

:meth:`WebhookHub.attach` gives a create our webhook only when the operator's own key makes
it and the caller sent no webhook of their own (never replaced); a ``--multi-user`` caller's
key never gets ours (an endpoint belongs to one workspace). R2–R5 gateways take
``{url, secret}``; with ``PHASEO_WEBHOOK_ENDPOINT_ID`` the R6 ``{endpoint_id}`` shape is sent.

:meth:`WebhookHub.receive` verifies a delivery, records it durably in the journal, and only
then rings this process's waiters (other replicas hear the journal's ``NOTIFY``). It returns
the HTTP status to answer: 2xx only after the record is durable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import anyio

from phaseo_mcp.config import Settings
from phaseo_mcp.gateway.requests import CreateVideoRequest, WebhookEndpoint, WebhookUrl
from phaseo_mcp.gateway.webhook_signing import Refused, verify
from phaseo_mcp.jobs.journal import JobRecord, Journal, JournalError
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.jobs.recorded import BoundedMap
from phaseo_mcp.jobs.webhook_events import Waiter, WakeBoard, record_event
from phaseo_mcp.logs import register_secret

log = logging.getLogger(__name__)
# Terminal events only: progress would cost a delivery per 10 % and wakes nobody.
OUR_EVENTS = ["video.completed", "video.failed", "video.cancelled", "video.expired"]


@dataclass
class WebhookHub:
    settings: Settings
    board: WakeBoard = field(default_factory=WakeBoard)
    # The server's own journal (set when its lifespan starts): one connection, so webhook
    # records and status writes never wait on each other's SQLite locks.
    journal_source: Callable[[], Awaitable[Journal | None]] | None = None
    _tracked: BoundedMap[tuple[str, str], bool] = field(default_factory=BoundedMap)

    def __post_init__(self) -> None:
        register_secret(self.secret, pin=True)

    @property
    def secret(self) -> str:
        assert self.settings.webhook_secret is not None
        return self.settings.webhook_secret.get_secret_value()

    # -- creates ---------------------------------------------------------------------------
    def ours(self) -> WebhookUrl | WebhookEndpoint:
        s = self.settings
        if s.webhook_endpoint_id:
            return WebhookEndpoint(endpoint_id=s.webhook_endpoint_id, events=OUR_EVENTS)
        assert s.webhook_url is not None
        return WebhookUrl(url=s.webhook_url, secret=self.secret, events=OUR_EVENTS)

    def attach(self, req: CreateVideoRequest, *, operator_key: bool) -> CreateVideoRequest:
        """The request with our webhook when it may carry one; otherwise as given."""
        if not operator_key or req.webhook is not None:
            return req
        return req.model_copy(update={"webhook": self.ours()})

    def carries_ours(self, record: JobRecord | None) -> bool:
        """Whether the journal's row of a job says its create carried our webhook."""
        hook: Any = record.request.get("webhook") if record is not None else None
        if not isinstance(hook, dict):
            return False
        s = self.settings
        if s.webhook_endpoint_id and hook.get("endpoint_id") == s.webhook_endpoint_id:
            return True
        return s.webhook_url is not None and hook.get("url") == s.webhook_url

    async def tracks(self, journal: Journal | None, key_fp: str, owner: str, video_id: str) -> bool:
        """Whether a wait on this job may count on our webhook (its create carried ours)."""
        if journal is None:
            return False
        if self._tracked.get((owner, video_id)):
            return True
        try:
            record = await anyio.to_thread.run_sync(
                lambda: journal.get(key_fp, video_id, owner=owner)
            )
        except JournalError:
            return False
        if self.carries_ours(record):
            self._tracked.put((owner, video_id), True)
            return True
        return False

    async def doorbell(
        self, owner: Owner, video_id: str, *, operator_key: bool
    ) -> AbstractContextManager[Waiter | None]:
        """What a wait on this job listens on: the wake board when the job carries our
        webhook (only ever on the operator's key), else nothing (it polls as usual)."""
        if not operator_key or self.journal_source is None:
            return nullcontext()
        journal = await self.journal_source()
        if await self.tracks(journal, owner.key_fp, owner.id, video_id):
            return self.board.waiting(video_id)
        return nullcontext()

    # -- deliveries ------------------------------------------------------------------------
    async def journal(self) -> Journal:
        shared = await self.journal_source() if self.journal_source is not None else None
        if shared is None:
            raise JournalError("the job journal is unavailable")
        return shared

    async def receive(self, headers: Mapping[str, str], raw_body: bytes) -> tuple[int, str]:
        """(HTTP status, short reason) for one delivery. Never logs the body."""
        try:
            event = verify(headers, raw_body, self.secret, now=time.time())
        except Refused as refused:
            log.warning("webhook refused (%d): %s", refused.status, refused.reason)
            return refused.status, refused.reason
        try:
            journal = await self.journal()
            new = await anyio.to_thread.run_sync(lambda: record_event(journal, event))
        except JournalError as exc:  # not durable: the gateway retries later
            log.error("webhook %s not recorded: %s", event.event_id, exc.message)
            return 503, "not recorded; retry later"
        except Exception as exc:
            log.error("webhook %s not recorded: %s", event.event_id, type(exc).__name__)
            return 503, "not recorded; retry later"
        if not new:
            log.info("webhook %s already recorded (a retry): nothing to do", event.event_id)
            return 200, "duplicate"
        woken = self.board.wake(event.video_id) if event.terminal else 0
        log.info("webhook %s (%s): %d waiter(s) woken", event.event_id, event.event_type, woken)
        return 200, "recorded"
