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
import logging
import os
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import uvicorn
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import (
    DEFAULT_MAX_SESSIONS_PER_CALLER,
    DEFAULT_SERVER_FILES_QUOTA_BYTES,
    DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
    HttpLimits,
    Settings,
    is_loopback,
)
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.logs import hide_path_in_results, register_secret
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.drain import Drain, DrainingServer, DrainMiddleware, draining_server
from phaseo_mcp.server.oauth_http import oauth_auth
from phaseo_mcp.server.session_caps import cap_sessions
from phaseo_mcp.server.stopping import RunningCalls
from phaseo_mcp.server.webhook_receiver import (
    add_webhook_route,
    run_listener_with,
    webhook_hub_for,
)

log = logging.getLogger(__name__)
TOKENS_ENV = "PHASEO_MCP_AUTH_TOKENS"
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
    server_files_quota: int = DEFAULT_SERVER_FILES_QUOTA_BYTES
    max_sessions_per_caller: int = DEFAULT_MAX_SESSIONS_PER_CALLER
    session_idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS


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


def with_public_host(settings: Settings, options: HttpOptions) -> HttpOptions:
    """PHASEO_PUBLIC_URL's host is a name clients use: allowed like an --allowed-host."""
    if settings.public_url is None:
        return options
    host = urlsplit(settings.public_url).hostname or ""
    if not host or host in options.allowed_hosts or is_loopback(host):
        return options
    return replace(options, allowed_hosts=[*options.allowed_hosts, url_host(host)])


def build_http_app(
    settings: Settings, options: HttpOptions, *, clock: Clock | None = None
) -> Starlette:
    """``clock``: the server's time (tests pass one they advance; see ``build_server``)."""
    oauth = settings.auth == "oauth"
    oauth_pair = oauth_auth(settings, options.path, options.multi_user, bool(options.tokens))
    insecure = not options.tokens and not options.insecure_no_auth and not oauth
    if not is_loopback(options.host) and insecure:
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
            "server_files": options.server_files,
            "server_files_quota_bytes": options.server_files_quota,
            "http_stateless": options.stateless,
        }
    )
    if not options.server_files:
        for path, name in (
            (settings.state_dir, "the server's state directory"),
            (settings.output_dir, "the server's output directory"),
        ):
            hide_path_in_results(str(path), name)
            hide_path_in_results(str(path.resolve()), name)
    verifier: TokenVerifier | None = None
    auth = None
    if oauth_pair is not None:
        verifier, auth = oauth_pair
    elif options.tokens:
        verifier = StaticTokenVerifier(options.tokens)
        # No resource_server_url: there is no OAuth authorization server, so the SDK must not
        # publish protected-resource metadata naming one (clients would then try to register
        # with it and fail); a refused request gets a plain "WWW-Authenticate: Bearer" instead.
        auth = AuthSettings(
            issuer_url=f"http://{url_host(options.host)}:{options.port}",
            resource_server_url=None,
            required_scopes=[],
        )
    running = RunningCalls()
    hub = webhook_hub_for(settings)
    server = build_server(
        settings, token_verifier=verifier, auth=auth, running=running, webhooks=hub, clock=clock
    )
    if hub is not None:
        add_webhook_route(server, hub)
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
        transport_security=security_settings(with_public_host(settings, options)),
        host=options.host,
        session_idle_timeout=options.session_idle_timeout,
    )
    if not options.stateless:
        cap_sessions(
            app,
            server.session_manager,
            limit=options.max_sessions_per_caller,
            path=options.path,
            multi_user=options.multi_user,
            tokens=bool(options.tokens),
            oauth=oauth,
            idle_seconds=options.session_idle_timeout,
        )
    app.add_middleware(DrainMiddleware, drain=drain, path=options.path)
    if hub is not None:
        run_listener_with(app, hub)
    app.state.drain = drain
    return app


def options_from_args(args: argparse.Namespace) -> HttpOptions:
    try:
        limits = HttpLimits.from_env(
            server_files_quota=args.server_files_quota,
            max_sessions_per_caller=args.max_sessions_per_caller,
            session_idle_timeout=args.session_idle_timeout,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
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
        server_files_quota=limits.server_files_quota,
        max_sessions_per_caller=limits.max_sessions_per_caller,
        session_idle_timeout=limits.session_idle_timeout,
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


def http_server(app: Starlette, options: HttpOptions) -> DrainingServer:
    """The uvicorn server for an app made by :func:`build_http_app`."""
    return draining_server(app, uvicorn_config(app, options))


def run_http(settings: Settings, args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
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
