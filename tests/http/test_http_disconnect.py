"""A client that drops its connection stops its work: on stateful streamable HTTP, a
wait_for_video whose client closed the SSE response stops polling the gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from httpkit import SUNRISE, create, mcp_client, serve_phaseo

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle, JobPlan

pytestmark = pytest.mark.anyio
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
VERSION = "2025-11-25"


def polls(emulator: EmulatorHandle, video_id: str) -> int:
    return sum(1 for r in emulator.requests["status"] if r.path.endswith("/" + video_id))


@asynccontextmanager
async def raw_session(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A session opened by hand: initialize, then notifications/initialized."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": VERSION,
                "capabilities": {},
                "clientInfo": {"name": "raw-sse", "version": "0"},
            },
        }
        answer = await http.post(url, json=init, headers=HEADERS)
        assert answer.status_code == 200, answer.text
        session = {**HEADERS, "MCP-Protocol-Version": VERSION}
        if "mcp-session-id" in answer.headers:  # stateful (stateless mode has none)
            session["Mcp-Session-Id"] = answer.headers["mcp-session-id"]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(url, json=note, headers=session)).status_code == 202
        yield http, session


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.startswith("data:") and line[5:].strip():
            yield json.loads(line[5:])


def wait_call(request_id: int, video_id: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {
            "name": "wait_for_video",
            "arguments": {"video_id": video_id, "timeout_seconds": 600},
            "_meta": {"progressToken": f"p{request_id}"},
        },
    }


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_wait_stops_polling_when_its_client_disconnects(
    settings: Settings, emulator: EmulatorHandle, stateless: bool
) -> None:
    """A raw SSE client starts wait_for_video on a long job and drops the connection after the
    first progress event: that job gets at most one more poll, while a second client's wait
    on the same server goes on polling (it is what shows time passing)."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    emulator.plan_next_job(JobPlan(seconds=1e6))
    with anyio.fail_after(60):
        async with serve_phaseo(settings, stateless=stateless) as served:
            async with mcp_client(served.url, "legacy") as client:
                dropped = (await create(client))["video_id"]
                kept = (await create(client, prompt=SUNRISE["prompt"] + ", at dusk"))["video_id"]
            async with raw_session(served.url) as (http, session), anyio.create_task_group() as tg:
                tg.start_soon(_keep_waiting, served.url, kept)
                request = http.build_request(
                    "POST", served.url, json=wait_call(2, dropped), headers=session
                )
                response = await http.send(request, stream=True)
                assert response.headers["content-type"].startswith("text/event-stream")
                async for message in sse_messages(response):
                    if message.get("method") == "notifications/progress":
                        break  # the wait is running and has polled at least once
                await response.aclose()  # the client goes away mid-wait
                at_close = polls(emulator, dropped)
                kept_at_close = polls(emulator, kept)
                while polls(emulator, kept) < kept_at_close + 10:  # 10 poll intervals pass
                    await anyio.sleep(0.01)
                after = polls(emulator, dropped)
                tg.cancel_scope.cancel()
    assert at_close >= 1
    assert after <= at_close + 1, f"{after - at_close} polls after the client left"


async def _keep_waiting(url: str, video_id: str) -> None:
    async with raw_session(url) as (http, session):
        await http.post(url, json=wait_call(2, video_id), headers=session)
