"""The mcp SDK internals and behaviours phaseo-mcp builds on: if an SDK upgrade moves one,
these fail by name instead of the server misbehaving somewhere far away."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from phaseo_mcp.server.middleware.refuse import UNKNOWN_TOOL
from phaseo_mcp.server.sdk_seam import lowlevel_server, session_is_open

from helpers import SUNRISE, call, text

pytestmark = pytest.mark.anyio


async def test_lowlevel_server_is_the_one_mcpserver_runs(server: MCPServer) -> None:
    """The seam's low-level server is the one serving this MCPServer (same middleware list)
    and still has the public run/options methods the stdio runner calls."""
    lowlevel = lowlevel_server(server)
    assert isinstance(lowlevel, Server)
    assert lowlevel.middleware is server.middleware
    assert callable(lowlevel.run)
    assert lowlevel.create_initialization_options().server_name == "phaseo-mcp"


async def test_session_is_open_reads_the_session_managers_sessions(server: MCPServer) -> None:
    """The seam reads the session manager's open sessions (none before any client came)."""
    server.streamable_http_app()
    manager = server.session_manager
    assert isinstance(manager, StreamableHTTPSessionManager)
    assert session_is_open(manager, "no-such-session") is False


async def test_sdk_answers_an_unknown_tool_with_an_error_result(client: Client) -> None:
    """Refusals borrow the SDK's answer to an unknown tool: an isError result, in both eras
    (not a JSON-RPC error, which would make every refusal a protocol failure)."""
    result = await call(client, UNKNOWN_TOOL, {})
    assert result.is_error and UNKNOWN_TOOL in text(result)


async def test_middleware_refusal_keeps_the_eras_envelope(client: Client) -> None:
    """A refused call is an isError tool result whose text names the bad argument; on the
    2026 wire it carries the serverInfo stamp every SDK answer carries."""
    result = await call(client, "create_video", {**SUNRISE, "resoluton": "1080p"})
    assert result.is_error and "did you mean 'resolution'" in text(result)
    good: Any = await call(client, "get_video_status", {"video_id": "G-" + "0" * 24})
    assert (result.meta is None) == (good.meta is None)


async def test_middleware_is_in_the_public_chain(server: MCPServer) -> None:
    """Our middleware sits in the public ``MCPServer.middleware`` chain."""
    names = [type(m).__name__ for m in server.middleware]
    assert {"StrictArguments", "CompactSchemas"} <= set(names), names
