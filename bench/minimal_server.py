"""The cold-start baseline: a minimal ``MCPServer`` with one tool, served over stdio.

    python bench/minimal_server.py

Whatever phaseo-mcp takes beyond this before answering tools/list is our own imports and
set-up.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run()
