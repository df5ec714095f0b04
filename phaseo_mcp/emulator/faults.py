"""Faults on demand: one control surface, from Python or over HTTP.

Faults are queued per route and consumed in order: a request takes the first queued fault
whose route matches (``"*"`` matches every route; ``"content"`` also matches
``"signed_content"``; an optional ``video_id`` param limits it to URLs naming that job), and a
fault applies ``count`` times before it is used up. Requests are counted whether or not a
fault hits them. Route names: ``create, status, content, signed_content, download_url, list,
models, delete, cancel`` (the ``/video/generations`` aliases count under the same names).

Kinds and their params:

- ``http``: answer ``status`` with the gateway's JSON error body instead of running the route.
  ``error``/``reason``/``description`` default per status (402 insufficient_funds, 403
  guardrail_blocked, 429 key_limit_exceeded, 501 not_implemented_yet +
  video_api_temporarily_disabled, 502 upstream_error, …); ``retry_after`` is an int of seconds
  or ``"date"`` (an HTTP-date ``retry_after_seconds``, default 2, from now); ``format`` 1–3
  picks the §12.1 body format; ``details`` (a list of objects) is the validation ``details``
  of formats 2 and 3; ``extra`` (an object) adds fields to a format-3 body, e.g. the §12.1
  diagnostics ``provider_failure_diagnostics``, ``attempt_count``, ``failed_providers``,
  ``upstream_error`` (it may also replace a default field, e.g. ``error`` as an object);
  ``body`` (str) replaces the body wholesale with ``content_type`` (default text/html), e.g.
  a proxy's HTML error page.
- ``slow``: wait ``delay`` real seconds, then answer normally; with ``hold_answer: true`` the
  route runs first (on ``create`` the job IS made) and its answer is held for ``delay``; with
  ``until_count: n`` it waits only until the fault's route has counted ``n`` requests (at most
  ``delay``): a gate that makes concurrent requests overlap for sure.
- ``drop``: close the connection before any response byte (client: ``RemoteProtocolError``).
- ``drop_mid_body``: run the route, send status, headers and ``after_bytes`` body bytes
  (default half the Content-Length), then close the socket.
- ``stall_mid_body``: like ``drop_mid_body``, but after those bytes the response stalls for
  ``delay`` real seconds (default 60) or until the client disconnects, then closes: a transfer
  that is surely still running when a test acts on it.
- ``short_body``: run the route, advertise a Content-Length ``missing`` bytes (default 1024)
  larger than the body, send the body, then close.
- ``create_then_drop``: run the route (on ``create`` the job IS made), then close the
  connection without sending anything.

Webhook deliveries (route ``webhook``, never matched by ``"*"``; ``video_id`` and ``key``, a
delivery key such as ``video.completed``, narrow it): ``drop`` (lost in transit: never sent,
never retried), ``delay`` (sent ``seconds`` emulated seconds later), ``duplicate`` (sent
twice, same event id), ``reorder`` (held back and sent right after the next delivery, so
events arrive out of order; a lone delivery stays held) and ``bad_signature`` (signed with
the wrong secret).

Python (``EmulatorHandle``)::

    emu.faults.add("status", "http", count=3, status=503)
    emu.faults.add("create", "http", status=429, retry_after="date", retry_after_seconds=1)
    emu.faults.add("status", "http", status=502, extra={"provider_failure_diagnostics": {
        "category": "server_error", "hint": "retry later", "provider": "openai"}})
    emu.faults.add("content", "drop_mid_body", after_bytes=4096)
    emu.faults.add("create", "create_then_drop")
    emu.faults.clear()
    emu.plan_next_job(JobPlan(outcome="moderation"))
    emu.clock.advance(30)

HTTP (admin routes, no auth, never counted, never faulted)::

    POST   /_emulator/faults          {"route": "status", "kind": "http", "count": 2, "status": 503}
                                      (or a JSON list of such objects)
    GET    /_emulator/faults          queued faults;  DELETE /_emulator/faults  clears them
    POST   /_emulator/clock/advance   {"seconds": 30};  GET /_emulator/clock
    GET    /_emulator/counters        {"counts": {...}, "total": n};  DELETE resets them
    GET    /_emulator/received/{route}  JSON bodies received on that route
    POST   /_emulator/plans           JobPlan fields for the next created job
    POST   /_emulator/jobs/{id}/plan  JobPlan fields for an existing job
    GET    /_emulator/jobs            id, status, model, phase of every job
    POST   /_emulator/reset           clear faults, counters, received bodies and plans
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WEBHOOK_KINDS = frozenset({"drop", "delay", "duplicate", "reorder", "bad_signature"})
KINDS = frozenset(
    {"http", "slow", "drop", "drop_mid_body", "stall_mid_body", "short_body", "create_then_drop"}
)
ROUTES = frozenset(
    {"*", "create", "status", "content", "signed_content", "download_url", "list", "models",
     "delete", "cancel", "webhook"}
)  # fmt: skip


@dataclass
class Fault:
    route: str
    kind: str
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, route: str, path: str) -> bool:
        if (route == "webhook") != (self.route == "webhook"):
            return False  # deliveries and requests never take each other's faults
        route_ok = self.route in ("*", route) or (
            self.route == "content" and route == "signed_content"
        )
        video_id = self.params.get("video_id")
        key = self.params.get("key")  # webhook delivery key; its path is /<video id>/<key>
        return (
            route_ok
            and (video_id is None or f"/{video_id}" in path)
            and (key is None or path.endswith(f"/{key}"))
        )

    def as_dict(self) -> dict[str, Any]:
        return {"route": self.route, "kind": self.kind, "remaining": self.remaining, **self.params}


class Faults:
    """The queue of pending faults of one emulator run."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def add(self, route: str = "*", kind: str = "http", count: int = 1, **params: Any) -> Fault:
        kinds = WEBHOOK_KINDS if route == "webhook" else KINDS
        if kind not in kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(kinds)}")
        if kind == "delay" and not isinstance(params.get("seconds"), int | float):
            raise ValueError("a delay fault needs seconds (emulated)")
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTES)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if kind == "http" and not isinstance(params.get("status"), int):
            raise ValueError("an http fault needs an integer status")
        if kind == "http" and not isinstance(params.get("extra", {}), dict):
            raise ValueError("an http fault's extra must be an object of body fields")
        details = params.get("details")
        if (
            kind == "http"
            and details is not None
            and not (isinstance(details, list) and all(isinstance(d, dict) for d in details))
        ):
            raise ValueError("an http fault's details must be a list of objects")
        if kind == "slow" and not isinstance(params.get("delay"), int | float):
            raise ValueError("a slow fault needs a delay in seconds")
        if kind == "slow" and "until_count" in params and route == "*":
            raise ValueError("a slow fault's until_count needs a named route to count")
        fault = Fault(route, kind, count, params)
        self._queue.append(fault)
        return fault

    def add_dict(self, spec: dict[str, Any]) -> Fault:
        spec = dict(spec)
        return self.add(
            str(spec.pop("route", "*")), str(spec.pop("kind", "http")),
            int(spec.pop("count", 1)), **spec,
        )  # fmt: skip

    def take(self, route: str, path: str) -> Fault | None:
        for fault in self._queue:
            if fault.matches(route, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._queue.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._queue.clear()

    def pending(self) -> list[Fault]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)
