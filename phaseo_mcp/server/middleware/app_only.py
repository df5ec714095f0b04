"""Middleware that keeps the inline player invisible to clients without MCP Apps.

The SDK lists every tool to every client. For a client that did not negotiate the UI
extension this removes app-only tools (``_meta.ui.visibility == ["app"]``) and the
``_meta.ui`` of the other tools from ``tools/list``, and answers a call to an app-only tool
exactly as it answers a call to a tool that does not exist.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

APP_ONLY_NAMES = frozenset({"player_update"})
_MISSING = "\x00player\x00"  # a tool name no tool has


def is_app_only(tool: dict[str, Any]) -> bool:
    ui = (tool.get("_meta") or {}).get("ui") or {}
    visibility = ui.get("visibility")
    return isinstance(visibility, list) and "model" not in visibility


def _without_ui(tool: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (tool.get("_meta") or {}).items() if k != "ui"}
    stripped = {k: v for k, v in tool.items() if k != "_meta"}
    return {**stripped, "_meta": meta} if meta else stripped


class AppOnlyTools:
    """Hide the UI extension's tools and tool metadata from clients that did not ask for it."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method not in ("tools/list", "tools/call") or client_supports_apps(ctx):
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, dict) else {}
        if ctx.method == "tools/call" and params.get("name") in APP_ONLY_NAMES:
            name = str(params["name"])
            result = await call_next(replace(ctx, params={**params, "name": _MISSING}))
            return _renamed(result, name)
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict) and "tools" in result:
            tools = [_without_ui(t) for t in result["tools"] if not is_app_only(t)]
            return {**result, "tools": tools}
        return result


def _renamed(result: HandlerResult, name: str) -> HandlerResult:
    if isinstance(result, dict) and isinstance(result.get("content"), list):
        content = [
            {**c, "text": c["text"].replace(_MISSING, name)} if "text" in c else c
            for c in result["content"]
        ]
        return {**result, "content": content}
    return result
