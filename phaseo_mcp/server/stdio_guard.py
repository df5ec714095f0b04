"""The lines stdio hands to the SDK: only JSON-RPC messages; everything else is answered.

The SDK's stdio reader drops a line it cannot parse without a word (the client then waits for
an answer that never comes), and a line over the reader's limit would end the server. Here
each line is checked first: invalid JSON gets the spec's parse error (-32700, id null); JSON
that is not a JSON-RPC message gets Invalid Request (-32600) with its id when one can be
read; a line over the limit (``OversizedLine``, its rest already skipped by the reader) gets
-32600 naming the limit, with the id read from the line's start when it is there. Each also
leaves a line on stderr, and the server goes on serving.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    jsonrpc_message_adapter,
)

log = logging.getLogger(__name__)
Send = Callable[[SessionMessage], Awaitable[None]]
# A top-level "id" before the first nested object or array of a message's first bytes.
_HEAD = re.compile(r"\s*\{(?P<head>[^{\[]*)")
_ID = re.compile(r'"id"\s*:\s*(?P<id>-?\d{1,18}(?![\d.eE])|"(?:[^"\\]|\\.){0,200}")')


class OversizedLine(str):
    """A line longer than the reader's limit: its first bytes (as text); the rest was skipped."""

    def __new__(cls, head: str, limit: int) -> OversizedLine:
        line = super().__new__(cls, head)
        line.limit = limit
        return line

    limit: int


def _id_of(message: Any) -> str | int | None:
    if isinstance(message, dict):
        value = message.get("id")
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    return None


def _id_in_head(head: str) -> str | int | None:
    match = _HEAD.match(head)
    found = _ID.search(match.group("head")) if match else None
    if found is None:
        return None
    try:
        return _id_of({"id": json.loads(found.group("id"))})
    except ValueError:
        return None


def problem_with(line: str) -> tuple[ErrorData, str | int | None] | None:
    """None for a line the SDK can take (or a blank one it may skip); else the error to answer
    and the id to answer it under. A malformed notification or response gets no answer."""
    if isinstance(line, OversizedLine):
        mib = line.limit / (1024 * 1024)
        error = ErrorData(
            code=INVALID_REQUEST,
            message=(
                f"Message too large: over the {mib:.0f} MiB limit for one line on stdio. It "
                "was skipped; nothing was done. Send a smaller request."
            ),
        )
        return error, _id_in_head(line)
    if not line.strip():
        return None
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValueError:
        pass
    else:
        return None
    try:
        message = json.loads(line)
    except ValueError as exc:
        return ErrorData(code=PARSE_ERROR, message=f"Parse error: invalid JSON ({exc})."), None
    if isinstance(message, dict) and "id" not in message and "method" in message:
        return None  # a notification: never answered
    if (
        isinstance(message, dict)
        and "method" not in message
        and ("result" in message or "error" in message)
    ):
        return None  # a response: never answered
    error = ErrorData(
        code=INVALID_REQUEST,
        message="Invalid Request: not a JSON-RPC 2.0 request (jsonrpc, id, method, params).",
    )
    return error, _id_of(message)


class GuardedLines:
    """``async for line in GuardedLines(lines)`` yields the lines the SDK can take; the others
    are answered through ``answer_through``'s send (the server's write stream)."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines
        self._send: Send | None = None
        self._ready = anyio.Event()

    def answer_through(self, send: Send) -> None:
        self._send = send
        self._ready.set()

    def __aiter__(self) -> GuardedLines:
        return self

    async def __anext__(self) -> str:
        while True:
            line = await anext(self._lines)
            problem = problem_with(line)
            if problem is None:
                if line.strip():
                    return line
                continue
            error, request_id = problem
            log.warning("stdio: %s (id %r)", error.message, request_id)
            await self._answer(JSONRPCError(jsonrpc="2.0", id=request_id, error=error))

    async def _answer(self, message: JSONRPCError) -> None:
        await self._ready.wait()
        assert self._send is not None
        try:
            await self._send(SessionMessage(message))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            log.debug("stdio: the server stopped before the answer could be sent")
