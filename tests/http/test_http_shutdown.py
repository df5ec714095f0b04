"""SIGTERM to `phaseo-mcp serve --transport http` while a wait_for_video call is in flight.

The client gets a result (never a hang, never a torn stream) and the process exits within 10 s.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import Progress, create, launch, mcp_client, server_env, terminate

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.stopping import STOPPED_MESSAGE

from helpers import TEST_KEY, data

pytestmark = pytest.mark.anyio
EXIT_WITHIN_SECONDS = 10.0


async def _sigterm_mid_wait(
    emulator: EmulatorHandle,
    tmp_path: Path,
    *,
    mode: str,
    flags: list[str],
    time_scale: str,
    wait_seconds: int,
) -> tuple[dict[str, Any], float, str]:
    emulator.plan_next_job(JobPlan(seconds=1e6))
    env = server_env(
        emulator.base_url,
        tmp_path / "out",
        tmp_path / "state",
        tokens="shutdown-token-0123456789",
        extra={"PHASEO_TIME_SCALE": time_scale},
    )
    replica = await launch(env, tmp_path / "server.log", flags)
    outcome: dict[str, Any] = {}
    ended = anyio.Event()
    try:
        async with mcp_client(
            replica.url, mode, token="shutdown-token-0123456789", read_timeout=120
        ) as client:
            job = await create(client)
            outcome["video_id"] = job["video_id"]
            progress = Progress([])
            first_progress = anyio.Event()

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                await progress(value, total, message)
                first_progress.set()

            async def waiter() -> None:
                try:
                    outcome["result"] = await client.call_tool(
                        "wait_for_video",
                        {"video_id": job["video_id"], "timeout_seconds": wait_seconds},
                        progress_callback=on_progress,
                    )
                except Exception as exc:  # the clean-error outcome: recorded and checked
                    outcome["error"] = exc
                finally:
                    ended.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                with anyio.fail_after(30):
                    await first_progress.wait()  # the wait is now in flight on the server
                signalled = time.monotonic()
                os.kill(replica.proc.pid, signal.SIGTERM)
                code = await anyio.to_thread.run_sync(
                    lambda: replica.proc.wait(timeout=EXIT_WITHIN_SECONDS + 5)
                )
                exited_after = time.monotonic() - signalled
                with anyio.fail_after(30):  # the client must not hang after the server left
                    await ended.wait()
            outcome["progress"] = progress
            outcome["code"] = code
    except BaseException as exc:  # closing the session against a dead server may raise
        if not ended.is_set():
            raise
        outcome.setdefault("close_error", exc)
    finally:
        await terminate(replica)
    return outcome, exited_after, replica.output()


# Both eras and both session modes (every combination runs in process in test_http_drain.py).
@pytest.mark.parametrize(
    ("mode", "stateless"),
    [("legacy", False), ("auto", True)],
    ids=["legacy-stateful", "auto-stateless"],
)
async def test_sigterm_mid_wait_cancels_cleanly_and_exits_within_10s(
    emulator: EmulatorHandle, tmp_path: Path, mode: str, stateless: bool
) -> None:
    """A wait outlasting the drain period is stopped with a tool result saying to call it
    again (next_call); the process exits within 10 s."""
    outcome, exited_after, log = await _sigterm_mid_wait(
        emulator,
        tmp_path,
        mode=mode,
        flags=["--stateless"] if stateless else [],
        time_scale="1",  # real-time budget: 120 s, far past the graceful shutdown period
        wait_seconds=120,
    )
    assert exited_after < EXIT_WITHIN_SECONDS, log
    # Not a torn stream nor a protocol error: a tool result that says what to call next.
    assert "result" in outcome, outcome
    result = outcome["result"]
    assert result.is_error and data(result)["error"] == STOPPED_MESSAGE
    assert data(result)["next_call"] == {
        "tool": "wait_for_video",
        "arguments": {"video_id": outcome["video_id"], "timeout_seconds": 120},
    }
    assert outcome["progress"].values  # progress had been flowing until then
    assert "Traceback" not in log, log
    assert "shutdown-token-0123456789" not in log and TEST_KEY not in log


async def test_sigterm_lets_a_short_wait_finish_with_its_result(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A wait whose budget ends within the grace period still returns its normal result."""
    outcome, exited_after, log = await _sigterm_mid_wait(
        emulator,
        tmp_path,
        mode="legacy",
        flags=["--stateless"],
        time_scale="100",  # 200 s budget = 2 s of real time, well inside the drain period
        wait_seconds=200,
    )
    assert exited_after < EXIT_WITHIN_SECONDS, log
    assert "result" in outcome, outcome
    result = outcome["result"]
    assert not result.is_error
    assert result.structured_content["budget_exhausted"] is True
    assert result.structured_content["next_call"]["tool"] == "wait_for_video"
