"""Draining on shutdown, in process (a short drain period keeps these fast).

The SIGTERM path of the real `phaseo-mcp serve` process is in test_http_shutdown.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import Progress, create, mcp_client, serve_phaseo
from mcp.types import CONNECTION_CLOSED, CallToolResult

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server import drain as drain_module
from phaseo_mcp.server.http import HttpOptions, build_http_app
from phaseo_mcp.server.stopping import STOPPED_MESSAGE

from helpers import data, make_settings

pytestmark = pytest.mark.anyio


async def test_calls_arriving_while_draining_get_503_with_retry_after(tmp_path: Path) -> None:
    """A draining server refuses new MCP calls (safe to retry elsewhere); /healthz says so."""
    settings = make_settings("http://127.0.0.1:9/v1", tmp_path / "out", tmp_path / "state")
    app = build_http_app(settings, HttpOptions())
    app.state.drain.closing = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        refused = await http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        health = await http.get("/healthz")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    body: Any = refused.json()
    assert body["error"] == {"code": CONNECTION_CLOSED, "message": STOPPED_MESSAGE}
    assert health.status_code == 503 and health.json() == {"status": "stopping"}


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_shutdown_stops_a_long_wait_with_a_result_that_says_call_again(
    emulator: EmulatorHandle,
    output_dir: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    stateless: bool,
) -> None:
    """A wait still running after the drain period is stopped with a tool result that says
    to call it again."""
    monkeypatch.setattr(drain_module, "DRAIN_SECONDS", 0.3)
    emulator.plan_next_job(JobPlan(seconds=1e6))
    settings: Settings = make_settings(emulator.base_url, output_dir, state_dir, time_scale=1.0)
    caught: list[BaseException] = []
    answered: list[CallToolResult] = []
    async with serve_phaseo(settings, stateless=stateless) as served:
        async with mcp_client(served.url, mode) as client:
            job = await create(client)
            flowing = anyio.Event()
            progress = Progress([])

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                await progress(value, total, message)
                flowing.set()

            async def waiter() -> None:
                try:
                    result = await client.call_tool(
                        "wait_for_video",
                        {"video_id": job["video_id"], "timeout_seconds": 300},
                        progress_callback=on_progress,
                    )
                except Exception as exc:  # would be a torn or refused call
                    caught.append(exc)
                else:
                    answered.append(result)

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(waiter)
                    await flowing.wait()
                    served.server.should_exit = True  # what SIGTERM does
    assert caught == [] and len(answered) == 1
    result = answered[0]
    assert result.is_error and data(result)["error"] == STOPPED_MESSAGE
    assert data(result)["next_call"]["tool"] == "wait_for_video"
    assert data(result)["next_call"]["arguments"]["video_id"] == job["video_id"]
