"""Stateful HTTP sessions capped per caller, so one token holder cannot use up the server's
session slots and lock everyone else out.

A caller is its owner under ``--multi-user`` (a hash of its ``X-Phaseo-Api-Key``) and,
with bearer tokens, also its token (a hash of it): each is capped on its own, so neither a
flood under one key nor one token rotating through made-up keys passes the cap. Under
``--auth oauth`` the caller is the signed-in person (the owner id: a hash of the verified
token's issuer and subject), so every access token one person gets shares one cap.

The cap runs inside the SDK's authentication middleware, so the token is verified first: a
request without a valid token gets the SDK's 401 and never takes a slot. A refused opening
request gets 429 and a JSON-RPC error saying what to do; sessions already open are
unaffected. Sessions are forgotten when the SDK's session manager has (DELETE, idle expiry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import INVALID_REQUEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phaseo_mcp.jobs.owner import key_owner
from phaseo_mcp.server.owner import API_KEY_HEADER, signed_in_owner
from phaseo_mcp.server.sdk_seam import session_is_open

SESSION_HEADER = b"mcp-session-id"
PRUNE_AT = 1024  # callers tracked before ended ones are swept


def caller_ids(scope: Scope, *, multi_user: bool, tokens: bool, oauth: bool = False) -> list[str]:
    """The identities a new session counts against (never a key or token in clear)."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    auth = headers.get(b"authorization", b"")
    token_id = "token-" + hashlib.sha256(b"phaseo-mcp/token/" + auth).hexdigest()[:24]
    ids: list[str] = []
    if oauth:
        user = scope.get("user")
        token = user.access_token if isinstance(user, AuthenticatedUser) else None
        person = signed_in_owner(token, None)
        ids.append(person.id if person is not None else token_id)
    if tokens:
        ids.append(token_id)
    if multi_user:
        key = headers.get(API_KEY_HEADER.encode(), b"").decode("latin-1").strip()
        ids.append(key_owner(key).id if key else "no-key")
    return ids or ["local"]


def is_signed_in(scope: Scope) -> bool:
    """Whether the SDK's authentication middleware verified this request's token."""
    return isinstance(scope.get("user"), AuthenticatedUser)


class SessionCaps:
    """Open sessions per caller; ``alive`` says whether the SDK still holds a session."""

    def __init__(self, limit: int, alive: Callable[[str], bool]) -> None:
        self.limit = limit
        self.alive = alive
        self.sessions: dict[str, list[str]] = {}  # caller -> its open session ids
        self.lock = anyio.Lock()

    def forget_ended(self) -> None:
        """Drop callers whose sessions all ended, now and then, so made-up keys that come
        once cannot grow this map for ever."""
        if len(self.sessions) > PRUNE_AT:
            for caller in list(self.sessions):
                self.open_count(caller)

    def open_count(self, caller: str) -> int:
        live = [
            s for s in self.sessions.get(caller, []) if s.startswith("pending-") or self.alive(s)
        ]
        if live:
            self.sessions[caller] = live
        else:
            self.sessions.pop(caller, None)
        return len(live)


class SessionCapMiddleware:
    """Refuses a caller's new session beyond the cap, before the SDK makes it."""

    def __init__(
        self,
        app: ASGIApp,
        caps: SessionCaps,
        path: str,
        multi_user: bool,
        tokens: bool,
        oauth: bool,
        idle_seconds: float | None,
    ) -> None:
        self.app, self.caps, self.path = app, caps, path
        self.multi_user, self.tokens, self.oauth = multi_user, tokens, oauth
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opening = (
            scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] == "POST"
            and not any(k.lower() == SESSION_HEADER for k, _ in scope.get("headers", []))
        )
        if (self.tokens or self.oauth) and not is_signed_in(scope):
            opening = False  # the SDK answers 401, and the request takes no slot
        if not opening:
            await self.app(scope, receive, send)
            return
        callers = caller_ids(
            scope, multi_user=self.multi_user, tokens=self.tokens, oauth=self.oauth
        )
        reserved = f"pending-{id(scope)}"
        async with self.caps.lock:
            self.caps.forget_ended()
            if any(self.caps.open_count(c) >= self.caps.limit for c in callers):
                await self._refuse(send)
                return
            for caller in callers:  # held until the answer says which session was made
                self.caps.sessions.setdefault(caller, []).append(reserved)
        made: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                for name, value in message.get("headers", []):
                    if name.lower() == SESSION_HEADER:
                        made["id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            for caller in callers:
                held = self.caps.sessions.get(caller, [])
                if reserved in held:
                    held.remove(reserved)
                if "id" in made:
                    held.append(made["id"])
                    self.caps.sessions[caller] = held

    async def _refuse(self, send: Send) -> None:
        idle = (
            f" or for idle ones to expire (after {self.idle_seconds:.0f} s without a request)"
            if self.idle_seconds
            else ""
        )
        message = (
            f"Too many open MCP sessions for this caller (the limit is {self.caps.limit}). "
            f"Close sessions you no longer use (HTTP DELETE with their Mcp-Session-Id){idle}, "
            "then connect again."
        )
        body = json.dumps(
            {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"60"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


def cap_sessions(
    app: Starlette,
    manager: StreamableHTTPSessionManager,
    *,
    limit: int,
    path: str,
    multi_user: bool,
    tokens: bool,
    oauth: bool,
    idle_seconds: float | None,
) -> None:
    """Put the per-caller cap in front of ``manager``'s endpoint."""
    caps = SessionCaps(limit, lambda sid: session_is_open(manager, sid))
    # Innermost, after the SDK's AuthenticationMiddleware (the first of app's middleware):
    # Starlette wraps user_middleware in list order, and add_middleware would put the cap
    # outside, before the token is verified and its person known.
    app.user_middleware.append(
        Middleware(
            SessionCapMiddleware,
            caps=caps,
            path=path,
            multi_user=multi_user,
            tokens=tokens,
            oauth=oauth,
            idle_seconds=idle_seconds,
        )
    )
