"""The tools over real streamable HTTP: both eras, stateful and stateless, progress over SSE.

Also: download_video defaults to signed links over HTTP unless the server has --server-files.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from httpkit import Progress, create, mcp_client, serve_phaseo, wait_done

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import data, text

pytestmark = pytest.mark.anyio
ERA = {"auto": "2026-07-28", "legacy": "2025-11-25"}


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_create_wait_download_with_progress_over_http(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path, mode: str, stateless: bool
) -> None:
    """create → wait (progress arrives over SSE) → download gives signed links by default."""
    emulator.plan_next_job(JobPlan(seconds=40))
    async with serve_phaseo(settings, stateless=stateless) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, mode) as client:
                assert client.protocol_version == ERA[mode]
                tools = await client.list_tools()
                assert len(tools.tools) == 7
                job = await create(client)
                progress = Progress([])
                done = await wait_done(client, job["video_id"], progress)
                assert done["status"] == "completed"
                assert done["next_call"]["tool"] == "download_video"
                assert progress.values, "no progress notification arrived over HTTP"
                assert progress.values == sorted(progress.values)
                assert progress.values[-1] < 100.0  # the ending poll sends none: the result does
                assert all(total == 100.0 for _, total, _ in progress.events)
                saved = await client.call_tool("download_video", {"video_id": job["video_id"]})
    assert not saved.is_error, text(saved)
    result = data(saved)
    assert result["mode"] == "url"
    assert result["files"][0]["url"].startswith("http")
    assert result["files"][0]["path"] is None
    assert not any(b.type == "resource_link" for b in saved.content)
    assert list(output_dir.iterdir()) == []
    assert emulator.counters["create"] == 1
    assert emulator.counters["content"] == 0


async def test_http_download_text_holds_each_whole_signed_url(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Over HTTP (url mode), the text names every signed URL whole, and each one works."""
    async with serve_phaseo(settings) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, "legacy") as client:
                job = await create(client, model="google/veo-3.1", duration=4, sample_count=4)
                await wait_done(client, job["video_id"])
                saved = await client.call_tool("download_video", {"video_id": job["video_id"]})
    assert not saved.is_error, text(saved)
    words = text(saved)
    links = data(saved)["files"]
    assert data(saved)["mode"] == "url" and len(links) == 4 and len(words) > 500
    async with httpx.AsyncClient(timeout=30) as http:
        for link in links:
            line = f"- output {link['index']}: {link['url']} (expires {link['expires_at']}"
            assert line in words
            shown = words.split(f"- output {link['index']}: ", 1)[1].split(" ", 1)[0]
            response = await http.get(shown)  # the URL exactly as the model reads it
            assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    assert list(output_dir.iterdir()) == []


async def test_server_files_makes_download_save_on_the_server(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """With --server-files, download_video saves a verified file in the output directory."""
    async with serve_phaseo(settings, server_files=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, "legacy") as client:
                job = await create(client)
                await wait_done(client, job["video_id"])
                saved = await client.call_tool("download_video", {"video_id": job["video_id"]})
                links = await client.call_tool(
                    "download_video", {"video_id": job["video_id"], "mode": "url"}
                )
    assert not saved.is_error, text(saved)
    files = data(saved)["files"]
    assert data(saved)["mode"] == "file"
    assert Path(files[0]["path"]) == output_dir / f"{job['video_id']}.mp4"
    assert Path(files[0]["path"]).stat().st_size == files[0]["bytes"]
    assert any(b.type == "resource_link" for b in saved.content)
    assert data(links)["mode"] == "url" and data(links)["files"][0]["url"]


async def test_file_mode_over_http_is_refused_without_server_files(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Without --server-files, mode="file" over HTTP is an error that says to use mode="url"
    (the next_call does), names no path of the server, and saves nothing."""
    async with serve_phaseo(settings) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url) as client:
                job = await create(client)
                await wait_done(client, job["video_id"])
                refused = await client.call_tool(
                    "download_video", {"video_id": job["video_id"], "mode": "file"}
                )
                follow = data(refused)["next_call"]
                again = await client.call_tool(follow["tool"], follow["arguments"])
    assert refused.is_error and data(refused)["failure_kind"] == "invalid_input"
    assert 'mode="url"' in text(refused) and str(output_dir) not in text(refused)
    assert follow["arguments"] == {"video_id": job["video_id"], "mode": "url"}
    assert not again.is_error and data(again)["files"][0]["url"]
    assert not output_dir.exists() or not any(output_dir.iterdir())


async def test_explicit_file_mode_saves_over_http_with_server_files(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """With --server-files, mode="file" over HTTP saves the verified file."""
    async with serve_phaseo(settings, server_files=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url) as client:
                job = await create(client)
                await wait_done(client, job["video_id"])
                saved = await client.call_tool(
                    "download_video", {"video_id": job["video_id"], "mode": "file"}
                )
    assert not saved.is_error, text(saved)
    assert (output_dir / f"{job['video_id']}.mp4").is_file()


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_many_clients_at_once(
    settings: Settings, emulator: EmulatorHandle, stateless: bool
) -> None:
    """Six clients (both eras) create and wait concurrently on one server; all finish."""
    results: dict[int, dict[str, object]] = {}
    progress: dict[int, Progress] = {}
    for _ in range(6):  # long enough that every wait polls before the end and reports progress
        emulator.plan_next_job(JobPlan(seconds=200))
    async with serve_phaseo(settings, stateless=stateless) as served:

        async def one(n: int) -> None:
            async with mcp_client(served.url, "auto" if n % 2 else "legacy") as client:
                job = await create(client, prompt=f"clip number {n} of a lake at dawn")
                progress[n] = Progress([])
                results[n] = await wait_done(client, job["video_id"], progress[n])

        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                for n in range(6):
                    tg.start_soon(one, n)
    assert sorted(results) == list(range(6))
    assert {r["status"] for r in results.values()} == {"completed"}
    assert len({r["video_id"] for r in results.values()}) == 6
    assert all(p.values for p in progress.values())
    assert emulator.counters["create"] == 6


async def test_a_cancelled_wait_leaves_the_server_usable(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """A client that abandons a wait (read timeout) can keep using the same server."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    async with serve_phaseo(settings, stateless=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, "legacy") as client:
                job = await create(client)
                with anyio.move_on_after(0.5):
                    await client.call_tool(
                        "wait_for_video", {"video_id": job["video_id"], "timeout_seconds": 600}
                    )
                status = await client.call_tool("get_video_status", {"video_id": job["video_id"]})
    assert not status.is_error, text(status)
    assert data(status)["status"] in ("queued", "processing")
