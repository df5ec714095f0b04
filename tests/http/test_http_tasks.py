"""The Tasks extension over real streamable HTTP: stateful and stateless in process, and two
stateless replicas sharing a PostgreSQL journal behind nginx."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import mcp_client, nginx_binary, serve_phaseo
from mcp_types import HEADER_MISMATCH
from taskclient import TASKS, TaskClient, follow_until_done, get_task, start_task
from test_http_replicas import TOKEN, nginx_in_front, two_replicas

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import SUNRISE, assert_mp4, data, text

pytestmark = pytest.mark.anyio


async def _fetch_links(files: list[dict[str, Any]], tmp_path: Path) -> None:
    """Every signed link downloads a whole MP4."""
    async with httpx.AsyncClient(timeout=30) as http:
        for item in files:
            got = await http.get(item["url"])
            assert got.status_code == 200, got.text[:200]
            path = tmp_path / f"link-{item['index']}.mp4"
            path.write_bytes(got.content)
            assert_mp4(path)


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_a_task_over_http_completes_with_signed_links_that_work(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path, tmp_path: Path, stateless: bool
) -> None:
    """create → task → tasks/get until complete → signed links (HTTP's download mode) that
    download the video; nothing is written on the server's disk."""
    ext = TaskClient()
    async with serve_phaseo(settings, stateless=stateless) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, extensions=[ext]) as client:
                result = await client.call_tool("create_video", SUNRISE)
    assert not result.is_error, text(result)
    job = data(result)
    assert [t.task_id for t in ext.created] == [job["video_id"]]
    assert job["status"] == "completed" and job["mode"] == "url"
    assert all(f["path"] is None and f["url"] for f in job["files"])
    await _fetch_links(job["files"], tmp_path)
    assert list(output_dir.iterdir()) == []
    assert emulator.counters["create"] == 1 and emulator.counters["download_url"] == 1


def _age_links(state_dir: Path, video_id: str) -> None:
    """Make the stored result's links look an hour old (as after a day of polling)."""
    with sqlite3.connect(state_dir / "journal.sqlite3") as conn:
        (raw,) = conn.execute("SELECT result FROM tasks WHERE video_id = ?", (video_id,)).fetchone()
        result = json.loads(raw)
        for item in result["structuredContent"]["files"]:
            item["expires_at"] = "2000-01-01T00:00:00Z"
        conn.execute(
            "UPDATE tasks SET result = ? WHERE video_id = ?", (json.dumps(result), video_id)
        )


async def test_later_gets_answer_from_the_record_and_renew_expired_links(
    settings: Settings, emulator: EmulatorHandle, state_dir: Path, tmp_path: Path
) -> None:
    """A completed task answers from its record without reading the gateway; once its signed
    links have expired, the next tasks/get mints fresh ones (and only then)."""
    async with serve_phaseo(settings) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, extensions=[TaskClient()]) as client:
                task = await start_task(client, SUNRISE)
                emulator.clock.advance(10_000)
                done = await follow_until_done(client.session, task.task_id)
                reads = emulator.counters["status"]
                same = await get_task(client.session, task.task_id)
                assert emulator.counters["status"] == reads
                assert same["result"] == done["result"]
                _age_links(state_dir, task.task_id)
                renewed = await get_task(client.session, task.task_id)
                again = await get_task(client.session, task.task_id)
    old = done["result"]["structuredContent"]["files"]
    new = renewed["result"]["structuredContent"]["files"]
    assert [f["url"] for f in new] != [f["url"] for f in old]
    assert again["result"] == renewed["result"]
    assert emulator.counters["download_url"] == 2 and emulator.counters["status"] == reads
    assert new[0]["url"] in renewed["result"]["content"][0]["text"]
    await _fetch_links(new, tmp_path)


def _sse_or_json(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        lines = [ln[5:].strip() for ln in response.text.splitlines() if ln.startswith("data:")]
        return dict(json.loads(lines[-1]))
    return dict(response.json())


async def test_tasks_requests_must_carry_the_task_id_in_mcp_name(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Over HTTP a tasks/* request whose Mcp-Name header is not its taskId is refused
    (HEADER_MISMATCH), as the SDK does for tools; with the right header it is answered."""
    emulator.plan_next_job(JobPlan(outcome="stuck"))
    async with serve_phaseo(settings) as served:
        async with mcp_client(served.url, extensions=[TaskClient()]) as client:
            task = await start_task(client, SUNRISE)

        async def raw(name: str | None) -> tuple[int, dict[str, Any]]:
            headers = {
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tasks/get",
            }
            if name is not None:
                headers["Mcp-Name"] = name
            meta = {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}},
            }
            body = {"jsonrpc": "2.0", "id": 5, "method": "tasks/get",
                    "params": {"taskId": task.task_id, "_meta": meta}}  # fmt: skip
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(served.url, json=body, headers=headers)
            return response.status_code, _sse_or_json(response)

        wrong = await raw("vid_someone_else")
        missing = await raw(None)
        right = await raw(task.task_id)
    assert wrong[1]["error"]["code"] == HEADER_MISMATCH, wrong
    assert missing[1]["error"]["code"] == HEADER_MISMATCH, missing
    assert right[1]["result"]["taskId"] == task.task_id, right
    assert right[1]["result"]["status"] == "working"


async def test_a_task_made_on_one_replica_completes_on_the_other_and_through_nginx(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Stateless replicas share the journal: a task created on A is answered and completed
    on B; a host behind the round-robin proxy gets its video; one mint per task."""
    nginx_binary()
    emulator.plan_next_job(JobPlan(seconds=30))
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b):
        with anyio.fail_after(120):
            async with mcp_client(a.url, token=TOKEN, extensions=[TaskClient()]) as on_a:
                task = await start_task(on_a, SUNRISE)
            async with mcp_client(b.url, token=TOKEN, extensions=[TaskClient()]) as on_b:
                done = await follow_until_done(on_b.session, task.task_id)
            with nginx_in_front(tmp_path, (a, b)) as front:
                ext = TaskClient()
                async with mcp_client(front + "/mcp", token=TOKEN, extensions=[ext]) as c:
                    through = await c.call_tool("create_video", {**SUNRISE, "prompt": "a pier"})
    result = done["result"]
    assert not result["isError"] and result["structuredContent"]["mode"] == "url"
    await _fetch_links(result["structuredContent"]["files"], tmp_path)
    assert not through.is_error, text(through)
    assert len(ext.created) == 1 and data(through)["video_id"] == ext.created[0].task_id
    await _fetch_links(data(through)["files"], tmp_path)
    assert emulator.counters["create"] == 2 and emulator.counters["download_url"] == 2
