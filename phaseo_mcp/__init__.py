"""phaseo-mcp: an MCP server for the Phaseo gateway's async video API."""

__version__ = "0.1.0"
