"""Stopping with an answer: on SIGTERM, each running tool call ends with a result that says
the server stopped it and what to call next, instead of a broken connection.

Tool calls register here (``guarded`` in tools.py does it); the stdio runner stops them and
waits for their answers to be written before the process exits. Over HTTP the same message
is sent by the transport's own drain (server/http.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from mcp.types import CallToolResult

from phaseo_mcp.server.results import failure

STOPPED_MESSAGE = (
    "The server is shutting down (restart or scale-down) and stopped this call. Call the tool "
    "again: wait_for_video, get_video_status, download_video and list_videos are safe to "
    "repeat. After an interrupted create_video call list_videos first, not create_video."
)


class RunningCalls:
    """The tool calls in progress in this process, each in a cancel scope of its own."""

    def __init__(self) -> None:
        self.closing = False
        self._calls: dict[anyio.CancelScope, str | None] = {}

    @contextmanager
    def track(self, request_id: str | None) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            self._calls[scope] = request_id
            try:
                yield scope
            finally:
                del self._calls[scope]

    def request_ids(self) -> list[str]:
        return [rid for rid in self._calls.values() if rid is not None]

    async def stop(self, wait_seconds: float) -> int:
        """Refuse new calls, stop the running ones and wait (at most ``wait_seconds``) for
        their clean-up; returns how many were stopped."""
        self.closing = True
        stopped = len(self._calls)
        for scope in list(self._calls):
            scope.cancel()
        with anyio.move_on_after(wait_seconds):
            while self._calls:  # noqa: ASYNC110 - polls a set other tasks change
                await anyio.sleep(0.01)
        return stopped


def stopped_result(tool: str, arguments: dict[str, Any]) -> CallToolResult:
    """The answer of a call the server stopped: call it again (after a create: list first)."""
    if tool == "create_video":
        again: dict[str, Any] = {"tool": "list_videos", "arguments": {}}
    else:
        again = {"tool": tool, "arguments": arguments}
    video_id = arguments.get("video_id")
    return failure(
        STOPPED_MESSAGE,
        kind="unavailable",
        next_call=again,
        video_id=video_id if isinstance(video_id, str) else None,
    )
