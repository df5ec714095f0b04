"""The inline player over real streamable HTTP: the app-only tool is listed and callable only
for clients that negotiated MCP Apps, stateful and stateless, in both eras."""

from __future__ import annotations

import anyio
import pytest
from httpkit import create, mcp_client, serve_phaseo
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from phaseo_mcp.config import Settings

from helpers import data, text

pytestmark = pytest.mark.anyio
UI = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_app_only_tool_over_http_only_with_apps(
    settings: Settings, mode: str, stateless: bool
) -> None:
    """With Apps: player_update listed and answers; without: unlisted and an unknown tool.
    Legacy stateless HTTP keeps no initialize capabilities, so there the server cannot know
    the client has Apps and shows nothing of the player (the safe side)."""
    async with serve_phaseo(settings, stateless=stateless) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, mode, extensions=UI) as apps:
                names = {t.name for t in (await apps.list_tools()).tools}
                job = await create(apps)
                view = await apps.call_tool("player_update", {"video_id": job["video_id"]})
            async with mcp_client(served.url, mode) as plain:
                plain_tools = (await plain.list_tools()).tools
                hidden = await plain.call_tool("player_update", {"video_id": job["video_id"]})
    if mode == "legacy" and stateless:
        assert "player_update" not in names and view.is_error
    else:
        assert "player_update" in names
        assert not view.is_error and data(view)["video_id"] == job["video_id"]
    assert "player_update" not in {t.name for t in plain_tools}
    assert all(t.meta is None for t in plain_tools)
    assert hidden.is_error and text(hidden) == "Unknown tool: player_update"
