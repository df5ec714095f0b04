"""Compact tool schemas in ``tools/list``: no auto-generated titles, nullable types folded
into ``type: [X, "null"]``, input schemas closed (``additionalProperties: false``, as the
arguments middleware enforces), so the list stays small in the model's context."""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

_DROPPED = frozenset({"title", "discriminator"})
# Output schemas keep every top-level field typed; nested objects are published as plain
# objects (their fields are described in the tool description) to keep tools/list small.
_DROPPED_IN_OUTPUT = _DROPPED | {"description", "default", "$defs"}


def compact_schema(node: Any, *, output: bool = False) -> Any:
    """Drop generated titles (and, in output schemas, descriptions and defaults) and fold
    ``anyOf [X, null]`` into ``type: [X, "null"]``."""
    if isinstance(node, list):
        return [compact_schema(item, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    if output and "$ref" in node:
        return {"type": "object"}
    dropped = _DROPPED_IN_OUTPUT if output else _DROPPED
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in dropped and (key == "$defs" or not isinstance(value, dict)):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: compact_schema(p, output=output) for name, p in value.items()}
        elif key == "$defs" and isinstance(value, dict):
            out[key] = {name: compact_schema(d, output=output) for name, d in value.items()}
        else:
            out[key] = compact_schema(value, output=output)
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(o for o in options if o != {"type": "null"})
        if isinstance(other.get("type"), str):
            del out["anyOf"]
            merged = {**other, **out}
            merged["type"] = [other["type"], "null"]
            if "enum" in merged:
                merged["enum"] = [*merged["enum"], None]
            out = merged
    if out.get("default", 0) is None:
        del out["default"]
    return out


def compact_tool_schemas(tool: dict[str, Any]) -> dict[str, Any]:
    """The schemas of one ``tools/list`` entry (wire form), compacted."""
    out: dict[str, Any] = {}
    if isinstance(tool.get("inputSchema"), dict):
        out["inputSchema"] = {**compact_schema(tool["inputSchema"]), "additionalProperties": False}
    if isinstance(tool.get("outputSchema"), dict):
        out["outputSchema"] = compact_schema(tool["outputSchema"], output=True)
    return out


class CompactSchemas:
    """``tools/list``: every tool's schemas compacted (see :func:`compact_schema`)."""

    def __init__(self) -> None:
        # A tool's schemas do not change while the server runs: each is compacted once.
        self.schemas: dict[str, dict[str, Any]] = {}

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        answer = await call_next(ctx)
        if ctx.method != "tools/list" or not isinstance(answer, dict):
            return answer
        tools = answer.get("tools")
        if not isinstance(tools, list):
            return answer
        compacted = []
        for tool in tools:
            name = tool.get("name") if isinstance(tool, dict) else None
            if isinstance(name, str):
                if name not in self.schemas:
                    self.schemas[name] = compact_tool_schemas(tool)
                tool = {**tool, **self.schemas[name]}
            compacted.append(tool)
        return {**answer, "tools": compacted}
