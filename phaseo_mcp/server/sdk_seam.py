"""The only places phaseo-mcp reaches into private attributes of the ``mcp`` SDK, each one
because no public API does the job. Checked against mcp 2.3.0 (``SDK_VERSION_CHECKED``);
tests/server/test_sdk_seam.py fails loudly if the SDK moves any of them.
"""

from __future__ import annotations

from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

SDK_VERSION_CHECKED = "2.3.0"


def lowlevel_server(server: MCPServer) -> Server[Any]:
    """The low-level server that ``MCPServer.run_stdio_async`` runs. Serving stdio on our own
    pipe adapters (the line guard, the pipe writer that reports what reached the client)
    needs its public ``run(read, write, options)``; ``MCPServer`` only runs on the process's
    own stdin/stdout and has no public accessor for it (mcp 2.3.0)."""
    return server._lowlevel_server


def session_is_open(manager: StreamableHTTPSessionManager, session_id: str) -> bool:
    """Whether the SDK's session manager still holds ``session_id``. A session ends by a
    DELETE, by idle expiry or by its task crashing, and only the manager sees the last two;
    it has no public accessor for its open sessions (mcp 2.3.0: ``_server_instances``)."""
    return session_id in manager._server_instances
