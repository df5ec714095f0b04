"""Strict tool arguments, checked before the SDK sees the call.

* Unknown arguments are refused, naming them and the closest valid name. (The SDK's
  generated argument models ignore extra keys, so a misspelt ``resoluton`` would otherwise
  buy a video with the wrong resolution.)
* Validation errors read as one line per field, without pydantic's documentation links.

A refused call never reaches the tool, so it costs nothing.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from phaseo_mcp.server.middleware.refuse import refuse

log = logging.getLogger(__name__)


def _error(kind: str, message: str, loc: tuple[str | int, ...]) -> InitErrorDetails:
    # Braces in a message would be read as template fields by PydanticCustomError.
    safe = message.replace("{", "(").replace("}", ")")
    return InitErrorDetails(type=PydanticCustomError(kind, safe), loc=loc, input=None)


def argument_errors(
    tool: str, meta: FuncMetadata, arguments: dict[str, Any]
) -> ValidationError | None:
    """What is wrong with ``arguments`` for ``tool``, one line per field (None: nothing)."""
    known = {f.alias or name for name, f in meta.arg_model.model_fields.items()}
    errors: list[InitErrorDetails] = []
    for key in arguments:
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
            meta.validate_arguments(arguments)
            return None
        except ValidationError as exc:
            errors = [
                _error(e["type"], e["msg"], tuple(e["loc"]))
                for e in exc.errors(include_url=False, include_input=False)
            ]
    return ValidationError.from_exception_data(tool, errors, hide_input=True)


class StrictArguments:
    """``tools/call``: arguments with an unknown name or a bad value are refused with a
    one-line-per-field message; the tool does not run."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = {tool.name: tool.fn_metadata for tool in tools}

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        params = ctx.params
        if ctx.method != "tools/call" or not isinstance(params, Mapping):
            return await call_next(ctx)
        name, arguments = params.get("name"), params.get("arguments") or {}
        meta = self.tools.get(name) if isinstance(name, str) else None
        if meta is None or not isinstance(arguments, Mapping):
            return await call_next(ctx)  # the SDK answers what is not ours to check
        problem = argument_errors(str(name), meta, dict(arguments))
        if problem is None:
            return await call_next(ctx)
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in problem.errors()})
        log.info("Tool %r rejected arguments: %r", name, fields)
        return await refuse(ctx, call_next, f"Error executing tool {name}: {problem}")
