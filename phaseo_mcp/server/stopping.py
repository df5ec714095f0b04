"""Stopping with an answer: on SIGTERM, each running tool call ends with a result that says
the server stopped it and what to call next, instead of a broken connection.

Tool calls register here (``guarded`` in tools.py does it), over either transport. The stdio
runner (run.py) stops them and waits for their answers to be written before the process
exits; over HTTP the drain (drain.py) first lets them finish for a while, then stops them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

import anyio
from mcp.types import CallToolResult

from phaseo_mcp.server.results import failure

STOPPED_MESSAGE = (
    "The server is shutting down (restart or scale-down) and stopped this call. Call the tool "
    "again: wait_for_video, get_video_status, download_video and list_videos are safe to "
    "repeat. After an interrupted create_video call list_videos first, not create_video."
)
Info = TypeVar("Info")


class CallSet(Generic[Info]):
    """Calls in progress, each in a cancel scope of its own, with what is known of each;
    one can wait for the set to empty (woken by the last call leaving, not by polling)."""

    def __init__(self) -> None:
        self._calls: dict[anyio.CancelScope, Info] = {}
        self._emptied: anyio.Event | None = None

    def __len__(self) -> int:
        return len(self._calls)

    def infos(self) -> list[Info]:
        return list(self._calls.values())

    @contextmanager
    def track(self, info: Info) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            if self._emptied is None or self._emptied.is_set():
                self._emptied = anyio.Event()  # set again when the set next empties
            self._calls[scope] = info
            try:
                yield scope
            finally:
                del self._calls[scope]
                if not self._calls and self._emptied is not None:
                    self._emptied.set()

    def cancel_all(self) -> int:
        """Cancel every call in the set; how many there were."""
        for scope in list(self._calls):
            scope.cancel()
        return len(self._calls)

    async def wait_empty(self, seconds: float) -> bool:
        """Wait (at most ``seconds``) until no call is left; whether none is."""
        with anyio.move_on_after(seconds):
            while self._calls and self._emptied is not None:
                await self._emptied.wait()
        return not self._calls


class RunningCalls:
    """The tool calls in progress in this process (over stdio or HTTP), so a shutdown can
    stop them: each then answers that the server stopped it and what to call next."""

    def __init__(self) -> None:
        self.closing = False
        self.calls: CallSet[str | None] = CallSet()

    def track(self, request_id: str | None) -> AbstractContextManager[anyio.CancelScope]:
        return self.calls.track(request_id)

    def request_ids(self) -> list[str]:
        return [rid for rid in self.calls.infos() if rid is not None]

    async def stop(self, wait_seconds: float) -> int:
        """Refuse new calls, stop the running ones and wait (at most ``wait_seconds``) for
        their clean-up; returns how many were stopped."""
        self.closing = True
        stopped = self.calls.cancel_all()
        await self.calls.wait_empty(wait_seconds)
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
