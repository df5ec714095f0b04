"""Webhook delivery (phaseo-api.md §11) to loopback URLs only.

A background loop watches jobs that have a webhook. Each change becomes an event
(``video.created``, ``video.status_changed``, ``video.progress`` in buckets of 10,
``video.completed|failed|expired``) when the job's ``events`` subscribe to it (``job.<phase>``
or ``video.<phase>``). A delivery is a POST of
``{"id", "type", "created_at", "delivery": {"key", "attempt", "max_attempts"}, "data"}`` with
the headers ``<prefix>timestamp|signature|event-id|event-type|delivery-key|attempt|
max-attempts`` (prefix ``x-phaseo-``; the signature only when a secret is known). The timestamp
header is real unix time, so receivers can check freshness; ``created_at`` is emulated time.
Non-2xx answers and network errors are retried with the same event id after 60, 300 and 900
emulated seconds (4 attempts), then marked ``failed_permanently``. Faults on the ``webhook``
route (``faults.py``) drop, delay, duplicate, reorder or mis-sign a delivery.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx

from phaseo_mcp.emulator.faults import Faults
from phaseo_mcp.emulator.render import iso, video_object
from phaseo_mcp.emulator.signing import webhook_signature
from phaseo_mcp.emulator.state import EmulatorState, Job

log = logging.getLogger("phaseo_mcp.emulator.webhooks")
USER_AGENT = "Phaseo-Async-Webhook/1.0"
TERMINAL_EVENTS = {"completed", "failed", "expired", "cancelled"}


@dataclass
class Delivery:
    job: Job
    key: str  # delivery key, e.g. video.completed or video.progress:50
    phase: str  # created, progress, status_changed, completed …
    data: dict[str, Any]
    attempt: int = 0
    due: float = 0.0  # emulated time
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return f"evt_video_{self.job.id}_{self.key}"


def _subscribed(job: Job, phase: str) -> bool:
    assert job.webhook is not None
    return f"job.{phase}" in job.webhook.events or f"video.{phase}" in job.webhook.events


class WebhookDispatcher:
    def __init__(self, state: EmulatorState, faults: Faults | None = None) -> None:
        self.state = state
        self.faults = faults if faults is not None else Faults()
        self.held: list[Delivery] = []  # reordered: sent after the next delivery
        self._senders: anyio.abc.TaskGroup | None = None
        self.pending: list[Delivery] = []
        self._progress: dict[str, int] = {}
        self._phase: dict[str, str] = {}

    @property
    def max_attempts(self) -> int:
        return len(self.state.config.webhook_retry_delays) + 1

    async def run(self, tick: float = 0.005) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client, anyio.create_task_group() as tg:
            self._senders = tg  # deliveries go out side by side, as the gateway's workers do
            while True:
                self.scan()
                await self.flush(client)
                await anyio.sleep(tick)

    def _event(self, job: Job, phase: str, key: str, now: float, **extra: Any) -> None:
        if key in job.webhook_sent_keys or not _subscribed(job, phase):
            return
        job.webhook_sent_keys.add(key)
        data = video_object(self.state, job, now) | extra
        self.pending.append(Delivery(job, key, phase, data, due=now))

    def scan(self) -> None:
        now = self.state.clock.now()
        for job in list(self.state.jobs.values()):
            if job.webhook is None or job.webhook.deliver_to is None or job.deleted_at:
                continue
            phase = job.phase(now)
            self._event(job, "created", "video.created", now)
            previous = self._phase.get(job.id, "queued")  # every job starts queued
            if previous != phase:
                change = {"status_change": {"previous_status": previous, "status": phase}}
                self._event(job, "status_changed", f"video.status_changed:{phase}", now, **change)
            self._phase[job.id] = phase
            if phase == "processing" and job.plan.progress:
                bucket = job.progress(now) // 10 * 10
                if 10 <= bucket <= 90 and bucket > self._progress.get(job.id, 0):
                    self._progress[job.id] = bucket
                    self._event(job, "progress", f"video.progress:{bucket}", now)
            if phase in TERMINAL_EVENTS:
                self._event(job, phase, f"video.{phase}", now)

    async def flush(self, client: httpx.AsyncClient) -> None:
        now = self.state.clock.now()
        due = [d for d in self.pending if d.due <= now]
        for delivery in due:
            self.pending.remove(delivery)
            fault = self.faults.take("webhook", f"/{delivery.job.id}/{delivery.key}")
            kind = fault.kind if fault is not None else None
            if kind == "drop":
                log.debug("webhook %s dropped (fault)", delivery.event_id)
                continue
            if kind == "delay":
                assert fault is not None
                delivery.due = now + float(fault.params["seconds"])
                self.pending.append(delivery)
                continue
            if kind == "reorder":
                self.held.append(delivery)
                continue
            if self._senders is not None:
                self._senders.start_soon(self._send, client, delivery, kind)
            else:
                await self._send(client, delivery, kind)

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery, kind: str | None) -> None:
        await self.deliver(client, delivery, bad_signature=kind == "bad_signature")
        if kind == "duplicate":
            delivery.attempt -= 1  # the same attempt, delivered twice
            await self.deliver(client, delivery)
        held, self.held = self.held, []
        for late in held:
            await self.deliver(client, late)

    async def deliver(
        self, client: httpx.AsyncClient, d: Delivery, *, bad_signature: bool = False
    ) -> None:
        hook = d.job.webhook
        assert hook is not None and hook.deliver_to is not None
        d.attempt += 1
        now = self.state.clock.now()
        for old in d.job.webhook_attempts:
            if old["delivery_key"] == d.key:
                old["_open"] = False
        payload = {
            "id": d.event_id,
            "type": f"video.{d.phase}",
            "created_at": int(now),
            "delivery": {"key": d.key, "attempt": d.attempt, "max_attempts": self.max_attempts},
            "data": d.data,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        stamp = int(time.time())
        p = self.state.config.webhook_header_prefix
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            f"{p}timestamp": str(stamp),
            f"{p}event-id": d.event_id,
            f"{p}event-type": f"video.{d.phase}",
            f"{p}delivery-key": d.key,
            f"{p}attempt": str(d.attempt),
            f"{p}max-attempts": str(self.max_attempts),
        }
        if hook.secret:
            secret = hook.secret + "-wrong" if bad_signature else hook.secret
            headers[f"{p}signature"] = webhook_signature(secret, stamp, raw)
        status: int | None = None
        error: str | None = None
        preview: str | None = None
        try:
            response = await client.post(hook.deliver_to, content=raw, headers=headers)
            status, preview = response.status_code, response.text[:200]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        record: dict[str, Any] = {
            "id": f"wha_{d.job.id[2:]}_{len(d.job.webhook_attempts) + 1}",
            "delivery_key": d.key,
            "event_type": f"video.{d.phase}",
            "attempt_number": d.attempt,
            "max_attempts": self.max_attempts,
            "tried_at": iso(now),
            "delivered_at": iso(now) if ok else None,
            "next_retry_at": None,
            "response_status": status,
            "error_message": None if ok else (error or f"HTTP {status}"),
            "response_body_preview": preview,
        }
        if ok:
            record["status"] = "delivered"
            d.job.webhook_delivered_keys.add(d.key)
        elif d.attempt < self.max_attempts:
            d.due = now + self.state.config.webhook_retry_delays[d.attempt - 1]
            record |= {"status": "scheduled_retry", "next_retry_at": iso(d.due), "_open": True}
            self.pending.append(d)
        else:
            record["status"] = "failed_permanently"
        d.job.webhook_attempts.append(record)
        log.debug("webhook %s attempt %d -> %s", d.event_id, d.attempt, record["status"])
