"""``guarded``: what every tool call goes through. It registers the call with the server's
running calls (so a shutdown can stop it with an answer) and turns every failure into an
``isError`` result that says what to do, never a traceback."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import ValidationError

from phaseo_mcp.errors import PhaseoError
from phaseo_mcp.os_errors import os_failure
from phaseo_mcp.server.results import describe_validation, failure, from_exception
from phaseo_mcp.server.state import state_of
from phaseo_mcp.server.stopping import stopped_result

P = ParamSpec("P")


def guarded(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Every failure becomes an ``isError`` result that says what to do; never a traceback."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        ctx = kwargs["ctx"]
        assert isinstance(ctx, Context)
        running = state_of(ctx).running
        # the call's own arguments, for a next_call that repeats it
        arguments = {k: v for k, v in kwargs.items() if k != "ctx" and v is not None}
        video_id = arguments.get("video_id")
        video_id = video_id if isinstance(video_id, str) else None

        def stopped() -> CallToolResult:
            return stopped_result(fn.__name__, arguments)

        if running.closing:
            return stopped()
        with running.track(ctx.request_id):
            try:
                return await fn(*args, **kwargs)
            except PhaseoError as exc:
                return from_exception(exc, video_id=video_id)
            except ValidationError as exc:
                return failure(describe_validation(exc, "arguments"), kind="invalid_input")
            except OSError as exc:  # one not worded where it happened: the table still says
                mapped = os_failure(
                    exc,
                    doing=fn.__name__,
                    next_calls={
                        "too_many_open_files": {"tool": fn.__name__, "arguments": arguments}
                    },
                )
                return from_exception(mapped, video_id=video_id)
        return stopped()  # reached only when the server stopped the call

    return wrapper
