"""The MCP middleware chain (the SDK's public ``MCPServer(middleware=[...])`` hook), built
in one place: each entry is a small class that sees every request before the SDK validates
it and may refuse it or rewrite its answer. Add one by appending it in
:func:`server_middleware`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.context import ServerMiddleware
from mcp.server.mcpserver.tools import Tool

from phaseo_mcp.server.middleware.app_only import AppOnlyTools
from phaseo_mcp.server.middleware.arguments import StrictArguments
from phaseo_mcp.server.middleware.schemas import CompactSchemas


def server_middleware(tools: Iterable[Tool]) -> list[ServerMiddleware[Any]]:
    """The chain, outermost first, for a server serving ``tools``."""
    return [AppOnlyTools(), CompactSchemas(), StrictArguments(tools)]
