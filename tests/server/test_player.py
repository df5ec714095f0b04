"""The inline player (MCP Apps) seen through the real mcp client, with and without the UI
extension, in both protocol eras."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, JobPlan, running_emulator
from phaseo_mcp.server.app import build_server

from helpers import SUNRISE, call, completed_video, data, make_settings, text, wait_terminal

pytestmark = pytest.mark.anyio
PLAYER = "ui://phaseo/player.html"
UI = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def ui_client(server: MCPServer, mode: str) -> AsyncIterator[Client]:
    """A client that negotiated MCP Apps."""
    async with Client(server, mode=mode, extensions=UI) as c:
        yield c


@pytest.fixture
async def plain_client(server: MCPServer, mode: str) -> AsyncIterator[Client]:
    """A client without extensions."""
    async with Client(server, mode=mode) as c:
        yield c


def tools_bytes(tools: Any) -> int:
    return len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True)
                           for t in tools.tools], separators=(",", ":")))  # fmt: skip


async def test_ui_client_sees_the_view_and_the_app_only_tool(ui_client: Client) -> None:
    """With Apps: create_video names the view; player_update is app-only; the resource is
    the HTML app with a CSP naming exactly the gateway's origin."""
    tools = {t.name: t for t in (await ui_client.list_tools()).tools}
    assert tools["create_video"].meta == {"ui": {"resourceUri": PLAYER}}
    assert tools["player_update"].meta == {"ui": {"resourceUri": PLAYER, "visibility": ["app"]}}
    others = [t for n, t in tools.items() if n not in ("create_video", "player_update")]
    assert all(t.meta is None for t in others)
    read = await ui_client.read_resource(PLAYER)
    content = read.contents[0]
    assert content.mime_type == APP_MIME_TYPE
    assert getattr(content, "text", "").lstrip().lower().startswith("<!doctype html>")
    origin = ui_client_origin(content.meta)
    assert origin.startswith("http://127.0.0.1:")


def ui_client_origin(meta: dict[str, Any] | None) -> str:
    assert meta is not None
    (origin,) = meta["ui"]["csp"]["resourceDomains"]
    return str(origin)


async def test_plain_client_sees_no_trace(
    plain_client: Client, ui_client: Client, emulator: EmulatorHandle
) -> None:
    """Without Apps: no player_update, no _meta.ui, and calling it is an unknown tool."""
    plain = await plain_client.list_tools()
    assert "player_update" not in {t.name for t in plain.tools}
    assert all(t.meta is None for t in plain.tools)
    with_ui = [t for t in (await ui_client.list_tools()).tools if t.name != "player_update"]
    assert [t.model_copy(update={"meta": None}) for t in with_ui] == plain.tools
    assert tools_bytes(plain) < 12 * 1024
    assert tools_bytes(await ui_client.list_tools()) > tools_bytes(plain)
    result = await call(plain_client, "player_update", {"video_id": "vid_x"})
    assert result.is_error and text(result) == "Unknown tool: player_update"
    missing = await call(plain_client, "no_such_tool", {})
    assert text(missing) == "Unknown tool: no_such_tool"
    assert emulator.counters.total() == 0


async def test_create_result_is_the_same_with_and_without_apps(
    plain_client: Client, ui_client: Client
) -> None:
    """create_video's result carries nothing meant only for the view."""
    first = await call(plain_client, "create_video", {**SUNRISE, "allow_duplicate": True})
    second = await call(ui_client, "create_video", {**SUNRISE, "allow_duplicate": True})
    assert first.meta == second.meta
    keys = set(data(first)) ^ set(data(second))
    assert not keys
    assert [type(c) for c in first.content] == [type(c) for c in second.content]


async def test_player_update_follows_the_job_at_its_pace(output_dir: Path, state_dir: Path) -> None:
    """One gateway read per refresh, none when called again before poll_after_seconds (an
    hour here, so the second call is always too soon)."""
    async with running_emulator(EmulatorConfig(poll_after_seconds=3600, time_scale=1)) as emu:
        settings = make_settings(emu.base_url, output_dir, state_dir, time_scale=1)
        async with Client(build_server(settings), extensions=UI) as c:
            created = await call(c, "create_video", {**SUNRISE, "allow_duplicate": True})
            video_id = data(created)["video_id"]
            emu.counters.reset()
            first = data(await call(c, "player_update", {"video_id": video_id}))
            again = data(await call(c, "player_update", {"video_id": video_id}))
    assert emu.counters["status"] == 1
    assert first == again and first["source"] is None and not first["terminal"]
    assert first["poll_after_seconds"] == 3600


async def test_player_plays_the_signed_url(ui_client: Client, emulator: EmulatorHandle) -> None:
    """A completed job with a signed URL on the gateway's origin: the view gets that URL."""
    video_id = await completed_video(ui_client, emulator)
    view = data(await call(ui_client, "player_update", {"video_id": video_id, "fresh_link": True}))
    assert view["status"] == "completed"
    assert view["source"]["kind"] == "url"
    assert view["source"]["url"].startswith(emulator.base_url.split("/v1")[0])


async def test_player_streams_a_saved_file_in_base64_chunks(
    ui_client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """No signed URL (bytes only): after download_video, the saved file comes back in base64
    chunks that rebuild it exactly, none over 4 MiB."""
    emulator.plan_next_job(JobPlan(asset_bytes=5 * 1024 * 1024))
    args = {**SUNRISE, "allow_duplicate": True, "output": {"access": "bytes"}}
    video_id = data(await call(ui_client, "create_video", args))["video_id"]
    await wait_terminal(ui_client, video_id)
    before = data(await call(ui_client, "player_update", {"video_id": video_id}))
    assert before["source"] == {"kind": "none"} and "download_video" in before["message"]
    saved = await call(ui_client, "download_video", {"video_id": video_id})
    assert not saved.is_error, text(saved)
    view = data(await call(ui_client, "player_update", {"video_id": video_id}))
    source = view["source"]
    assert source["kind"] == "inline" and source["chunks"] == 3
    parts = []
    for i in range(source["chunks"]):
        piece = await call(ui_client, "player_update", {"video_id": video_id, "chunk": i})
        size = len(json.dumps(piece.model_dump(mode="json", by_alias=True)))
        assert size < 4 * 1024 * 1024
        parts.append(data(piece)["data"])
    whole = base64.b64decode("".join(parts))
    assert whole == (output_dir / f"{video_id}.mp4").read_bytes()
    beyond = await call(ui_client, "player_update", {"video_id": video_id, "chunk": 3})
    assert beyond.is_error


async def test_a_file_saved_under_its_own_name_plays_while_it_is_unchanged(
    ui_client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """download_video(filename=...) is found through the journal; once the file there is
    replaced by other bytes (another size) it is no longer offered."""
    emulator.plan_next_job(JobPlan(asset_bytes=1024 * 1024))
    args = {**SUNRISE, "allow_duplicate": True, "output": {"access": "bytes"}}
    video_id = data(await call(ui_client, "create_video", args))["video_id"]
    await wait_terminal(ui_client, video_id)
    named = {"video_id": video_id, "filename": "sunrise-final.mp4"}
    assert not (saved := await call(ui_client, "download_video", named)).is_error, text(saved)
    assert not (output_dir / f"{video_id}.mp4").exists()
    view = data(await call(ui_client, "player_update", {"video_id": video_id}))
    assert view["source"]["kind"] == "inline" and view["source"]["bytes"] == 1024 * 1024
    piece = data(await call(ui_client, "player_update", {"video_id": video_id, "chunk": 0}))
    rebuilt = base64.b64decode(piece["data"])
    assert rebuilt == (output_dir / "sunrise-final.mp4").read_bytes()[: len(rebuilt)]
    (output_dir / "sunrise-final.mp4").write_bytes(b"not the video")
    after = data(await call(ui_client, "player_update", {"video_id": video_id}))
    assert after["source"] == {"kind": "none"}
    refused = await call(ui_client, "player_update", {"video_id": video_id, "chunk": 0})
    assert refused.is_error


async def test_too_large_to_show_inline_says_where_it_is(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Over PHASEO_INLINE_VIDEO_MAX_MB the view is told the video is too large, and where."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, inline_video_max_mb=1)
    async with Client(build_server(settings), extensions=UI) as c:
        emulator.plan_next_job(JobPlan(asset_bytes=2 * 1024 * 1024))
        args = {**SUNRISE, "allow_duplicate": True, "output": {"access": "bytes"}}
        video_id = data(await call(c, "create_video", args))["video_id"]
        await wait_terminal(c, video_id)
        assert not (await call(c, "download_video", {"video_id": video_id})).is_error
        view = data(await call(c, "player_update", {"video_id": video_id}))
    assert view["source"] == {"kind": "none"}
    assert "too large" in view["message"] and f"{video_id}.mp4" in view["message"]


async def test_failed_job_tells_the_view_why_in_words(
    ui_client: Client, emulator: EmulatorHandle
) -> None:
    """A refused job: terminal, no source, and the gateway's reason for the view to show."""
    emulator.plan_next_job(JobPlan(outcome="moderation"))
    created = await call(ui_client, "create_video", {**SUNRISE, "allow_duplicate": True})
    video_id = data(created)["video_id"]
    await wait_terminal(ui_client, video_id)
    view = data(await call(ui_client, "player_update", {"video_id": video_id}))
    assert view["terminal"] and view["status"] == "failed" and view["source"] is None
    assert "safety" in view["message"] or "policy" in view["message"]


async def test_a_finished_job_is_read_again_only_for_a_fresh_link(
    output_dir: Path, state_dir: Path
) -> None:
    """Once terminal, refreshes answer from memory; fresh_link (a failed link) reads the job
    again, and no_link never offers a URL. (Pace 0 here, so only those rules decide.)"""
    async with running_emulator(EmulatorConfig(poll_after_seconds=0, time_scale=100)) as emu:
        settings = make_settings(emu.base_url, output_dir, state_dir, poll_floor_seconds=0)
        async with Client(build_server(settings), extensions=UI) as c:
            video_id = await completed_video(c, emu)
            first = data(await call(c, "player_update", {"video_id": video_id}))
            assert first["status"] == "completed" and first["source"]["kind"] == "url"
            emu.counters.reset()
            again = data(await call(c, "player_update", {"video_id": video_id}))
            assert emu.counters["status"] == 0 and again["source"] == first["source"]
            await call(c, "player_update", {"video_id": video_id, "fresh_link": True})
            assert emu.counters["status"] == 1
            args = {"video_id": video_id, "no_link": True}
            blocked = data(await call(c, "player_update", args))
    assert blocked["source"] == {"kind": "none"} and emu.counters["status"] == 1
