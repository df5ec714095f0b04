"""The one registry of running calls (stdio stop and HTTP drain both use it)."""

from __future__ import annotations

import anyio
import pytest

from phaseo_mcp.server.stopping import CallSet, RunningCalls

pytestmark = pytest.mark.anyio


async def test_wait_empty_returns_when_the_last_call_leaves() -> None:
    """Waiters wake when the set empties (two waiters at once, calls leaving one by one)."""
    calls: CallSet[int] = CallSet()
    release = [anyio.Event(), anyio.Event()]
    entered = anyio.Event()
    woke: list[bool] = []

    async def call(n: int) -> None:
        with calls.track(n):
            if len(calls) == 2:
                entered.set()
            await release[n].wait()

    async def waiter() -> None:
        woke.append(await calls.wait_empty(60))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, 0)
            tg.start_soon(call, 1)
            await entered.wait()
            tg.start_soon(waiter)
            tg.start_soon(waiter)
            release[0].set()
            await anyio.wait_all_tasks_blocked()
            assert woke == [] and calls.infos() == [1]
            release[1].set()
    assert woke == [True, True] and len(calls) == 0


async def test_wait_empty_gives_up_after_its_time_and_says_so() -> None:
    """A call that never ends: wait_empty returns False once its time is up."""
    calls: CallSet[None] = CallSet()
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:

            async def stuck() -> None:
                with calls.track(None):
                    await anyio.sleep_forever()

            tg.start_soon(stuck)
            await anyio.wait_all_tasks_blocked()
            assert await calls.wait_empty(0) is False
            tg.cancel_scope.cancel()
    assert len(calls) == 0


async def test_stop_cancels_running_calls_and_refuses_new_ones() -> None:
    """RunningCalls.stop cancels each call (its clean-up runs) and sets closing."""
    running = RunningCalls()
    cleaned: list[str] = []

    async def call(rid: str) -> None:
        with running.track(rid):
            try:
                await anyio.sleep_forever()
            finally:
                cleaned.append(rid)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "a")
            tg.start_soon(call, "b")
            await anyio.wait_all_tasks_blocked()
            assert sorted(running.request_ids()) == ["a", "b"]
            assert await running.stop(60) == 2
    assert running.closing and sorted(cleaned) == ["a", "b"]
