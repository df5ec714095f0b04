"""Tool schemas and argument checking beyond the SDK defaults.

* Unknown arguments are refused, naming them and the closest valid name. (The SDK's
  generated argument models ignore extra keys, so a misspelt ``resoluton`` would otherwise
  buy a video with the wrong resolution.)
* Validation errors read as one line per field, without pydantic's documentation links.
* Published schemas are compacted (no auto-generated titles, nullable types folded into
  ``type: [X, "null"]``) so tools/list stays small in the model's context.
"""

from __future__ import annotations

import difflib
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def _error(kind: str, message: str, loc: tuple[str | int, ...]) -> InitErrorDetails:
    # Braces in a message would be read as template fields by PydanticCustomError.
    safe = message.replace("{", "(").replace("}", ")")
    return InitErrorDetails(type=PydanticCustomError(kind, safe), loc=loc, input=None)


class StrictFuncMetadata(FuncMetadata):
    tool_name: str = ""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        known = {f.alias or name for name, f in self.arg_model.model_fields.items()}
        errors: list[InitErrorDetails] = []
        for key in arguments_to_validate:
            if key in known:
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "."
            errors.append(
                _error(
                    "unknown_argument",
                    f"unknown argument '{key[:60]}'{hint} Valid arguments: "
                    f"{', '.join(sorted(known))}. Nothing was sent.",
                    (key[:60],),
                )
            )
        if not errors:
            try:
                return super().validate_arguments(arguments_to_validate)
            except ValidationError as exc:
                errors = [
                    _error(e["type"], e["msg"], tuple(e["loc"]))
                    for e in exc.errors(include_url=False, include_input=False)
                ]
        raise ValidationError.from_exception_data(
            self.tool_name or "arguments", errors, hide_input=True
        )


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


def harden_tools(server: MCPServer) -> None:
    """Strict argument checking and compact schemas for every registered tool."""
    # The SDK exposes no public way to reach a registered Tool object.
    for tool in server._tool_manager.list_tools():
        meta = tool.fn_metadata
        tool.fn_metadata = StrictFuncMetadata(
            arg_model=meta.arg_model,
            output_schema=(
                compact_schema(meta.output_schema, output=True) if meta.output_schema else None
            ),
            output_model=meta.output_model,
            wrap_output=meta.wrap_output,
            tool_name=tool.name,
        )
        tool.parameters = compact_schema(tool.parameters)
        tool.parameters["additionalProperties"] = False
