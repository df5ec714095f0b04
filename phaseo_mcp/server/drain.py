"""Draining on SIGTERM: the MCP calls in flight, and a proper answer for each one stopped.

Running calls may finish for ``DRAIN_SECONDS``; the rest are stopped, and each of their
clients gets a JSON-RPC error that says to call again (on an SSE response, as its final
event) instead of a torn connection. Calls arriving meanwhile get 503 and ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import uvicorn
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.types import CONNECTION_CLOSED
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phaseo_mcp.server.stopping import STOPPED_MESSAGE, CallSet, RunningCalls

log = logging.getLogger(__name__)
# SIGTERM: running calls may finish for DRAIN_SECONDS, the rest are stopped and their clients
# told within WRAP_UP_SECONDS; uvicorn's own graceful period is only a backstop after that.
DRAIN_SECONDS = 5.0
WRAP_UP_SECONDS = 1.0


class Drain:
    """The MCP requests in flight over HTTP, so a shutdown can wait for them and then stop
    the rest; ``tool_calls`` are the same server's running tool calls."""

    def __init__(self, tool_calls: RunningCalls | None = None) -> None:
        self.closing = False
        self.requests: CallSet[None] = CallSet()
        self.tool_calls = tool_calls or RunningCalls()

    async def close(self, grace: float) -> int:
        """Refuse new calls, give running ones ``grace`` seconds, stop the rest; how many.

        Tool calls still running are stopped first, so each answers with a tool result that
        says what to call next; only requests that still hang after that are cut here."""
        self.closing = True
        await self.requests.wait_empty(grace)
        stopped = len(self.requests)
        if stopped:
            await self.tool_calls.stop(WRAP_UP_SECONDS)
            await self.requests.wait_empty(WRAP_UP_SECONDS)
        self.requests.cancel_all()
        await self.requests.wait_empty(WRAP_UP_SECONDS)
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

        with self.drain.requests.track(None) as call:
            await self.app(scope, tee, watch)
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


class DrainingServer(uvicorn.Server):
    """uvicorn, with :class:`Drain` between "stop accepting" and uvicorn's own shutdown."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        stopped = await self.drain.close(DRAIN_SECONDS)
        if stopped:
            log.warning(
                "shutdown: stopped %d call(s) still running after %.0f s; their clients were "
                "told to call again",
                stopped,
                DRAIN_SECONDS,
            )
        await super().shutdown(sockets)


def draining_server(app: Starlette, config: uvicorn.Config) -> DrainingServer:
    """The uvicorn server for an app whose ``state.drain`` (see ``build_http_app``) tracks its
    MCP requests."""
    # sse-starlette (under the SDK) ends every SSE stream the moment uvicorn sees SIGTERM,
    # which tears in-flight calls mid-answer. Drain does that job, gracefully, instead.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    drain = getattr(app.state, "drain", None)
    return DrainingServer(config, drain if isinstance(drain, Drain) else Drain())
