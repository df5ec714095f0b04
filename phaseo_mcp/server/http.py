"""Streamable HTTP: bearer tokens, Host/Origin checks, /healthz, safe defaults, draining.

Loopback by default; a non-loopback bind needs ``PHASEO_MCP_AUTH_TOKENS`` (or an explicit
``--insecure-no-auth``). Over HTTP ``download_video`` defaults to signed links, since a
remote server's disk is of no use to its caller (``--server-files`` restores files).

On SIGTERM the server stops accepting connections, lets running calls finish for
``DRAIN_SECONDS``, then stops the rest: each of their clients gets a JSON-RPC error that says
to call again (on an SSE response, as its final event) instead of a torn connection. Calls
arriving meanwhile get 503 and ``Retry-After``; the process is gone well within 10 s.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from mcp.types import CONNECTION_CLOSED
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phaseo_mcp.config import Settings
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.logs import register_secret
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.stopping import STOPPED_MESSAGE, RunningCalls

log = logging.getLogger(__name__)
TOKENS_ENV = "PHASEO_MCP_AUTH_TOKENS"
# SIGTERM: running calls may finish for DRAIN_SECONDS, the rest are stopped and their clients
# told within WRAP_UP_SECONDS; uvicorn's own graceful period is only a backstop after that.
DRAIN_SECONDS = 5.0
WRAP_UP_SECONDS = 1.0
GRACEFUL_SHUTDOWN_SECONDS = 2
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class StaticTokenVerifier:
    """Accepts any of the configured tokens, compared in constant time."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = [t.encode() for t in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token.encode()
        matched = -1
        for number, candidate in enumerate(self._tokens, start=1):
            # No early exit, so the time taken says nothing about which token (if any) matched.
            if hmac.compare_digest(presented, candidate):
                matched = number
        if matched < 0:
            return None
        # One principal per configured token: the SDK binds a stateful session to the principal
        # that opened it, so another token's holder cannot take the session over.
        return AccessToken(token=token, client_id=f"token-{matched}", scopes=[])


def parse_tokens(raw: str | None) -> list[str]:
    tokens = [t.strip() for t in (raw or "").split(",")]
    return [t for t in tokens if t]


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as written in a URL: IPv6 addresses go in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    path: str = "/mcp"
    stateless: bool = False
    allowed_hosts: list[str] = field(default_factory=list)
    server_files: bool = False
    multi_user: bool = False
    insecure_no_auth: bool = False
    tokens: list[str] = field(default_factory=list)


def security_settings(options: HttpOptions) -> TransportSecuritySettings:
    hosts = [f"{h}:*" for h in LOCAL_HOSTS] + list(LOCAL_HOSTS)
    origins = [f"http://{h}:*" for h in LOCAL_HOSTS] + [f"http://{h}" for h in LOCAL_HOSTS]
    for name in options.allowed_hosts:
        hosts += [name, f"{name}:*"]
        origins += [f"https://{name}", f"http://{name}", f"https://{name}:*", f"http://{name}:*"]
    if not is_loopback(options.host) and options.host not in ("0.0.0.0", "::"):
        bound = url_host(options.host)  # the bind address itself is a name clients may use
        hosts += [bound, f"{bound}:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


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


def build_http_app(settings: Settings, options: HttpOptions) -> Starlette:
    if not is_loopback(options.host) and not options.tokens and not options.insecure_no_auth:
        raise ConfigError(
            f"Refusing to serve on {options.host} without authentication: anyone who can reach "
            f"it could spend your credits. Set {TOKENS_ENV}=<token>[,<token>…] (clients send "
            "'Authorization: Bearer <token>'), or pass --insecure-no-auth if a proxy in front "
            "already authenticates."
        )
    for token in options.tokens:
        register_secret(token)
    settings = settings.model_copy(
        update={
            "default_download_mode": "file" if options.server_files else "url",
            "multi_user": options.multi_user,
        }
    )
    verifier = StaticTokenVerifier(options.tokens) if options.tokens else None
    auth = None
    if verifier is not None:
        base = f"http://{url_host(options.host)}:{options.port}"
        auth = AuthSettings(
            issuer_url=base,
            resource_server_url=f"{base}{options.path}",
            required_scopes=[],
            validate_token_resource=False,
        )
    running = RunningCalls()
    server = build_server(settings, token_verifier=verifier, auth=auth, running=running)
    drain = Drain(running)

    async def healthz(_: Request) -> Response:
        # Liveness only: nothing about the version, the gateway or the configuration.
        if drain.closing:
            return JSONResponse({"status": "stopping"}, status_code=503)
        return JSONResponse({"status": "ok"})

    server.custom_route("/healthz", methods=["GET"])(healthz)

    app = server.streamable_http_app(
        streamable_http_path=options.path,
        stateless_http=options.stateless,
        json_response=False,  # JSON responses would drop progress notifications
        transport_security=security_settings(options),
        host=options.host,
    )
    app.add_middleware(DrainMiddleware, drain=drain, path=options.path)
    app.state.drain = drain
    return app


def options_from_args(args: argparse.Namespace) -> HttpOptions:
    return HttpOptions(
        host=args.host,
        port=args.port,
        path=args.path,
        stateless=args.stateless,
        allowed_hosts=list(args.allowed_host or []),
        server_files=args.server_files,
        multi_user=args.multi_user,
        insecure_no_auth=args.insecure_no_auth,
        tokens=parse_tokens(os.environ.get(TOKENS_ENV)),
    )


def uvicorn_config(app: Starlette, options: HttpOptions) -> uvicorn.Config:
    """How uvicorn serves the app: no server banner, bounded graceful shutdown."""
    return uvicorn.Config(
        app,
        host=options.host.strip("[]"),
        port=options.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )


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


def http_server(app: Starlette, options: HttpOptions) -> DrainingServer:
    """The uvicorn server for an app made by :func:`build_http_app`."""
    from sse_starlette.sse import AppStatus

    # sse-starlette (under the SDK) ends every SSE stream the moment uvicorn sees SIGTERM,
    # which tears in-flight calls mid-answer. Drain does that job, gracefully, instead.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    drain = getattr(app.state, "drain", None)
    return DrainingServer(uvicorn_config(app, options), drain if drain is not None else Drain())


def run_http(settings: Settings, args: argparse.Namespace) -> int:
    options = options_from_args(args)
    try:
        app = build_http_app(settings, options)
    except ConfigError as exc:
        log.error("%s", exc.message)
        return 2
    log.info(
        "serving MCP over HTTP on http://%s:%d%s",
        url_host(options.host),
        options.port,
        options.path,
    )
    http_server(app, options).run()
    return 0
