"""Webhooks across replicas: an event replica A receives wakes a wait on replica B.

Both replicas share one PostgreSQL journal; A records the event and the journal's
``NOTIFY`` reaches B's listener. The emulator runs in this process on a frozen clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import (
    Replica,
    create,
    free_port,
    mcp_client,
    replica_pair,
)

from phaseo_mcp.config import WEBHOOK_PATH
from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle

from helpers import data, text

pytestmark = pytest.mark.anyio
SECRET = "whsec_replicas_0123456789abcdef"
JOB_SECONDS = 60.0
# Shorter than the 30 s safety-net poll: a wait that no event woke ends still processing.
WAIT_SECONDS = 20


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=0, poll_after_seconds=10, job_seconds=JOB_SECONDS)


@asynccontextmanager
async def two_replicas(
    emulator: EmulatorHandle, tmp_path: Path, journal_url: str
) -> AsyncIterator[tuple[Replica, Replica]]:
    """A and B, real time (10 s polls stay 10 s), the gateway's webhooks going to A."""
    port_a = free_port()
    extra = {
        "PHASEO_TIME_SCALE": "1",
        "PHASEO_PUBLIC_URL": f"http://127.0.0.1:{port_a}",
        "PHASEO_WEBHOOK_SECRET": SECRET,
    }
    async with replica_pair(
        emulator.base_url, tmp_path, journal_url, extra=extra, ports=(port_a, free_port())
    ) as replicas:
        yield replicas


async def _until(check: Any, what: str) -> None:
    with anyio.fail_after(30):
        while not check():
            await anyio.sleep(0.01)
    assert check(), what


async def test_event_received_by_replica_a_wakes_a_wait_on_replica_b(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """B's wait ends on A's event before B's next poll: after the event, B reads the job
    once (the confirming read), and A's receiver, not B's, got the delivery."""
    async with (
        two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b),
        mcp_client(b.url) as client,
    ):
        await _until(lambda: "webhook listener ready" in b.output(), "B listens")
        video_id = (await create(client))["video_id"]
        assert emulator.received["create"][-1]["webhook"]["url"] == a.base + WEBHOOK_PATH
        results: list[dict[str, Any]] = []

        async def wait() -> None:
            result = await client.call_tool(
                "wait_for_video", {"video_id": video_id, "timeout_seconds": WAIT_SECONDS}
            )
            assert not result.is_error, text(result)
            results.append(data(result))

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            await _until(lambda: emulator.counters["status"] >= 1, "B polled once")
            reads_before_event = emulator.counters["status"]
            emulator.clock.advance(JOB_SECONDS + 1)
        assert results[0]["status"] == "completed"
        assert emulator.counters["status"] == reads_before_event + 1
        assert [x["response_status"] for x in emulator.jobs[video_id].webhook_attempts] == [200]
        assert f"webhook evt_video_{video_id}_video.completed" in a.output()
        assert "webhook evt_video_" not in b.output()
