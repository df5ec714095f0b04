"""The outer ASGI layer: route names, counters, recorded bodies, and faults on the wire.

Dropped connections must be real transport errors, not HTTP statuses, so this layer closes
the socket itself: ``Connections`` keeps each live uvicorn transport by client address (the
emulator's protocol class registers them), and a drop closes it, waits until uvicorn has seen
the connection go, and returns — uvicorn then sends nothing more (no 500).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phaseo_mcp.emulator.errors import error_body, error_response
from phaseo_mcp.emulator.faults import Fault, Faults
from phaseo_mcp.emulator.state import EmulatorState, RecordedRequest, new_request_id

_PREFIX = r"^/v1/(?:videos|video/generations)"
_ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(_PREFIX + r"/?$"), {"POST": "create", "GET": "list"}),
    (re.compile(_PREFIX + r"/models/?$"), {"GET": "models"}),
    (re.compile(_PREFIX + r"/[^/]+/?$"), {"GET": "status", "DELETE": "delete"}),
    (re.compile(_PREFIX + r"/[^/]+/content/?$"), {"GET": "content"}),
    (re.compile(_PREFIX + r"/[^/]+/download_url/?$"), {"POST": "download_url"}),
    (re.compile(_PREFIX + r"/[^/]+/cancel/?$"), {"POST": "cancel"}),
)
MAX_BODY = 1024 * 1024


def route_name(method: str, path: str, query: str) -> str | None:
    for pattern, methods in _ROUTES:
        if pattern.match(path):
            name = methods.get(method)
            if name == "content" and "download_sig=" in query:
                return "signed_content"
            return name
    return None


class Connections:
    """Live transports by client address, so a fault can close one for real."""

    def __init__(self) -> None:
        self._live: dict[tuple[str, int], tuple[asyncio.Transport, asyncio.Event]] = {}

    def made(self, client: tuple[str, int] | None, transport: asyncio.Transport) -> None:
        if client is not None:
            self._live[client] = (transport, asyncio.Event())

    def lost(self, client: tuple[str, int] | None) -> None:
        entry = self._live.pop(client, None) if client is not None else None
        if entry is not None:
            entry[1].set()

    async def close(self, scope: Scope) -> None:
        client = scope.get("client")
        entry = self._live.get((client[0], client[1])) if client else None
        if entry is None:
            raise RuntimeError("the emulator's protocol did not register this connection")
        transport, gone = entry
        transport.close()  # flushes what was written, then FIN
        with anyio.move_on_after(5):
            await gone.wait()


class _Cut(Exception):
    """Raised from a wrapped ``send`` to stop the route once a fault has sent enough."""


def _has_cut(exc: BaseException) -> bool:
    if isinstance(exc, _Cut):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_has_cut(e) for e in exc.exceptions)
    return False


def _content_length(message: Message) -> int | None:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-length":
            return int(value)
    return None


class FaultMiddleware:
    def __init__(
        self, app: ASGIApp, admin: ASGIApp, state: EmulatorState, faults: Faults,
        connections: Connections,
    ) -> None:  # fmt: skip
        self.app, self.admin, self.state = app, admin, state
        self.faults, self.connections = faults, connections
        self._arrival = anyio.Event()  # set, and replaced, at each counted request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if path.startswith("/_emulator"):
            return await self.admin(scope, receive, send)
        query = scope.get("query_string", b"").decode("latin-1")
        route = route_name(scope["method"], path, query)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False) and len(body) <= MAX_BODY
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if route is not None:
            self._record(route, scope, query, body)
        if len(body) > MAX_BODY:
            too_large = error_response(
                413, request_id=new_request_id(), fmt=self.state.config.error_format
            )
            return await too_large(scope, replay, send)
        fault = self.faults.take(route, path) if route is not None else None
        if fault is None:
            return await self.app(scope, replay, send)
        await self._apply(fault, scope, replay, send)

    def _record(self, route: str, scope: Scope, query: str, body: bytes) -> None:
        self.state.counters[route] += 1
        self._arrival.set()
        self._arrival = anyio.Event()
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode("utf-8", "replace")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.state.requests[route].append(
            RecordedRequest(scope["method"], scope["path"], query, headers, parsed)
        )
        if parsed is not None:
            self.state.received[route].append(parsed)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        p = fault.params
        if fault.kind == "slow" and p.get("hold_answer"):
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)  # the route runs now (a create makes its job)
            await anyio.sleep(float(p["delay"]))
            for message in held:
                await send(message)
            return None
        if fault.kind == "slow" and p.get("until_count") is not None:
            # a gate: hold until this many requests of the route arrived (``delay`` at most)
            with anyio.move_on_after(float(p["delay"])):
                while self.state.counters[fault.route] < int(p["until_count"]):
                    await self._arrival.wait()
            return await self.app(scope, receive, send)
        if fault.kind == "slow":
            await anyio.sleep(float(p["delay"]))
            return await self.app(scope, receive, send)
        if fault.kind == "http":
            return await self._http_fault(p, scope, receive, send)
        if fault.kind == "drop":
            return await self.connections.close(scope)
        if fault.kind == "create_then_drop":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            return await self.connections.close(scope)
        budget: int | None = p.get("after_bytes")
        missing = int(p.get("missing", 1024))

        async def cutting(message: Message) -> None:
            nonlocal budget
            if message["type"] == "http.response.start":
                length = _content_length(message)
                if fault.kind == "short_body":
                    headers = [
                        (k, v) for k, v in message.get("headers", [])
                        if k.lower() != b"content-length"
                    ]  # fmt: skip
                    advertised = (length or 0) + missing
                    headers.append((b"content-length", str(advertised).encode()))
                    message = {**message, "headers": headers}
                elif budget is None:
                    budget = max(1, (length or 2048) // 2)
                return await send(message)
            chunk: bytes = message.get("body", b"")
            if fault.kind in ("drop_mid_body", "stall_mid_body"):
                assert budget is not None
                chunk, budget = chunk[:budget], budget - len(chunk[:budget])
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if fault.kind == "stall_mid_body" and budget is not None and budget <= 0:
                with anyio.move_on_after(float(p.get("delay", 60))):  # or until the client goes
                    while (await receive())["type"] != "http.disconnect":
                        pass
            if not message.get("more_body", False) or (budget is not None and budget <= 0):
                raise _Cut

        try:
            await self.app(scope, receive, cutting)
        except BaseException as exc:
            if not _has_cut(exc):
                raise
        await self.connections.close(scope)

    async def _http_fault(
        self, p: dict[str, Any], scope: Scope, receive: Receive, send: Send
    ) -> None:
        status = int(p["status"])
        headers: dict[str, str] = {}
        retry_after = p.get("retry_after")
        if retry_after == "date":
            when = time.time() + float(p.get("retry_after_seconds", 2))
            headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
        elif retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if "body" in p:
            raw = str(p["body"]).encode()
            headers["content-type"] = str(p.get("content_type", "text/html; charset=utf-8"))
            headers["content-length"] = str(len(raw))
            raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": status, "headers": raw_headers})
            return await send({"type": "http.response.body", "body": raw})
        fmt = int(p.get("format", self.state.config.error_format))
        body = error_body(
            status, p.get("error"), p.get("reason"), p.get("description"),
            request_id=new_request_id(), fmt=fmt, details=p.get("details"),
        )  # fmt: skip
        if fmt >= 3:  # extra fields may replace defaults too (e.g. ``error`` as an object)
            body.update(p.get("extra", {}))
        await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)
