"""Refusing a ``tools/call`` from middleware: an ``isError`` result in the envelope the SDK
gives every ``tools/call`` answer of this connection's protocol era."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

# No tool has this name. The SDK answers a call to a tool it does not have with an isError
# result (tests/server/test_sdk_seam.py checks it still does), which gives the refusal its
# era's envelope (resultType, the serverInfo stamp); only the content is replaced.
UNKNOWN_TOOL = "(refused by phaseo-mcp)"


async def refuse(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext, text: str
) -> HandlerResult:
    """Answer the ``tools/call`` in ``ctx`` with an isError result saying ``text``; the tool
    does not run."""
    params: dict[str, Any] = {"name": UNKNOWN_TOOL, "arguments": {}}
    if isinstance(ctx.params, Mapping) and "_meta" in ctx.params:
        params["_meta"] = ctx.params["_meta"]
    answer = await call_next(replace(ctx, params=params))
    content = [{"type": "text", "text": text}]
    if isinstance(answer, dict):
        answer.pop("structuredContent", None)
        return {**answer, "content": content, "isError": True}
    return {"content": content, "isError": True}
