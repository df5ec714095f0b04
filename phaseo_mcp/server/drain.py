"""Draining on SIGTERM: the MCP calls in flight, and a proper answer for each one stopped.

Running calls may finish for ``DRAIN_SECONDS``; the rest are stopped, and each of their
clients gets a JSON-RPC error that says to call again (on an SSE response, as its final
event) instead of a torn connection. Calls arriving meanwhile get 503 and ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.types import CONNECTION_CLOSED
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phaseo_mcp.server.stopping import STOPPED_MESSAGE, RunningCalls

# SIGTERM: running calls may finish for DRAIN_SECONDS, the rest are stopped and their clients
# told within WRAP_UP_SECONDS; uvicorn's own graceful period is only a backstop after that.
DRAIN_SECONDS = 5.0
WRAP_UP_SECONDS = 1.0


class Drain:
    """The MCP calls in flight, so a shutdown can wait for them and then stop the rest."""

    def __init__(self, tool_calls: RunningCalls | None = None) -> None:
        self.closing = False
        self.calls: set[anyio.CancelScope] = set()
        self.tool_calls = tool_calls or RunningCalls()

    async def close(self, grace: float) -> int:
        """Refuse new calls, give running ones ``grace`` seconds, stop the rest; how many.

        Tool calls still running are stopped first, so each answers with a tool result that
        says what to call next; only requests that still hang after that are cut here."""
        self.closing = True
        with anyio.move_on_after(grace):
            while self.calls:  # noqa: ASYNC110 - polls a set other tasks change
                await anyio.sleep(0.05)
        stopped = len(self.calls)
        if stopped:
            await self.tool_calls.stop(WRAP_UP_SECONDS)
            with anyio.move_on_after(WRAP_UP_SECONDS):
                while self.calls:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
        for call in list(self.calls):
            call.cancel()
        with anyio.move_on_after(WRAP_UP_SECONDS):
            while self.calls:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        return stopped


class DrainMiddleware:
    """Tracks each request to the MCP endpoint; a call that :class:`Drain` stops still gets
    a proper answer (a JSON-RPC error per request id), never a torn response."""

    def __init__(self, app: ASGIApp, drain: Drain, path: str) -> None:
        self.app, self.drain, self.path = app, drain, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if self.drain.closing:  # never started, so another replica may safely take it
            await _send_json(send, 503, _stopped([None])[0], [(b"retry-after", b"1")])
            return
        body = bytearray()
        sent = {"started": False, "done": False, "sse": False}

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= DEFAULT_MAX_REQUEST_BODY_SIZE:
                body.extend(message.get("body", b""))
            return message

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["started"] = True
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                sent["sse"] = kind.startswith(b"text/event-stream")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                sent["done"] = True
            await send(message)

        with anyio.CancelScope() as call:
            self.drain.calls.add(call)
            try:
                await self.app(scope, tee, watch)
            finally:
                self.drain.calls.discard(call)
        if call.cancel_called and not sent["done"]:
            errors = _stopped(_request_ids(bytes(body))) if scope["method"] == "POST" else []
            if not sent["started"]:
                await _send_json(
                    send, 200 if errors else 503, errors[0] if len(errors) == 1 else errors
                )
            elif sent["sse"]:
                events = b"".join(
                    b"event: message\ndata: " + json.dumps(e).encode() + b"\n\n" for e in errors
                )
                await send({"type": "http.response.body", "body": events, "more_body": False})
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def _request_ids(body: bytes) -> list[Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return [None]
    items = parsed if isinstance(parsed, list) else [parsed]
    ids = [m["id"] for m in items if isinstance(m, dict) and m.get("id") is not None]
    return ids or [None]


def _stopped(ids: list[Any]) -> list[dict[str, Any]]:
    error = {"code": CONNECTION_CLOSED, "message": STOPPED_MESSAGE}
    return [{"jsonrpc": "2.0", "id": i, "error": error} for i in ids]


async def _send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})
