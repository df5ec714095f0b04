"""Stop a call's work when its HTTP client has gone.

How mcp 2.3 learns of a closed response stream: on stateful streamable HTTP (the 2025 wire,
``mcp/server/streamable_http.py``) only the SSE response task notices, when sse-starlette's
disconnect listener ends the response; ``_run_sse_writer`` then drops the request's stream,
but the request's handler runs on in the session's task group, because the SDK keeps the
work for a client that may reconnect and replay (which needs an event store; we have none).
Nothing cancels it, so a dropped ``wait_for_video`` would poll the gateway until its budget
ended. The 2026 transport (``_streamable_http_modern.py``) and stateless mode cancel the
handler themselves.

There is no hook for this in the SDK; what it does give every handler is the HTTP request
of its own POST (``ctx.request_context.request``, a Starlette ``Request``). Here the call
watches that request's ASGI ``receive`` for ``http.disconnect``, as the SDK's own 2026
transport does, and cancels the work when it comes. Public attributes only; if the SDK stops
passing the request, nothing is watched and
``tests/http/test_http_disconnect.py::test_wait_stops_polling_when_its_client_disconnects``
fails.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from mcp.server.mcpserver import Context
from starlette.requests import Request

log = logging.getLogger(__name__)


@dataclass
class ClientWatch:
    gone: bool = False


@asynccontextmanager
async def stop_if_client_leaves(ctx: Context) -> AsyncIterator[ClientWatch]:
    """Run the block; if the HTTP client that sent this request disconnects meanwhile, the
    block is cancelled and ``gone`` is set (the block's result then has no one to read it).
    On stdio and in process there is no HTTP request and nothing is watched."""
    watch = ClientWatch()
    request = ctx.request_context.request
    if not isinstance(request, Request):
        yield watch
        return
    failed: Exception | None = None
    async with anyio.create_task_group() as tg:

        async def until_disconnect() -> None:
            # The SDK has read the whole body before dispatching, so the next message is
            # the disconnect; anything else is unexpected and ends the watch, not the call.
            if (await request.receive()).get("type") != "http.disconnect":
                return
            watch.gone = True
            log.info("request %s: the client disconnected; stopping its work", ctx.request_id)
            tg.cancel_scope.cancel()

        tg.start_soon(until_disconnect)
        try:
            yield watch
        except Exception as exc:  # raised below as itself, not in the task group's group
            failed = exc
        finally:
            tg.cancel_scope.cancel()  # the block is over: stop watching
    if failed is not None:
        raise failed
