"""Reading ``phaseo://videos/{video_id}`` through the real mcp client (both eras)."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp import Client, MCPError

from phaseo_mcp.emulator import EmulatorHandle

from helpers import OTHER_KEY, SUNRISE, TEST_KEY, call, data

pytestmark = pytest.mark.anyio
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


async def _read_error(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return caught.value


async def test_unknown_videos_are_resource_not_found(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An id the gateway does not know, another key's job, or a malformed id is -32602
    (resource not found) with a message that says what to do, not an internal error."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            emulator.base_url + "/videos",
            json=SUNRISE,
            headers={"Authorization": f"Bearer {OTHER_KEY}"},
        )
    others = answer.json()["id"]
    for video_id in ("G-doesnotexist0", others):
        error = await _read_error(client, f"phaseo://videos/{video_id}")
        assert error.code == INVALID_PARAMS, error.message
        assert "list_videos" in error.message
    malformed = await _read_error(client, "phaseo://videos/G-1%20OR%201")
    assert malformed.code == INVALID_PARAMS
    assert "video_id" in malformed.message
    assert TEST_KEY not in malformed.message
    assert emulator.counters["status"] == 2  # the malformed id cost nothing


async def test_a_gateway_failure_is_a_resource_error_with_its_reason(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A video that exists but cannot be read (the gateway refused the key once) is not "not
    found": -32603 with the gateway's reason, and the next read works."""
    created = data(await call(client, "create_video", SUNRISE))
    uri = f"phaseo://videos/{created['video_id']}"
    emulator.faults.add(route="status", kind="http", status=401, count=1)
    error = await _read_error(client, uri)
    assert error.code == INTERNAL_ERROR
    assert "401" in error.message
    body = json.loads((await client.read_resource(uri)).contents[0].text)
    assert body["video_id"] == created["video_id"]
