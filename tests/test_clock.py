"""The server's Clock: scaled real time that tests can also move forward at once."""

from __future__ import annotations

import anyio
import pytest

from phaseo_mcp.clock import Clock

pytestmark = pytest.mark.anyio


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    """Clock(0) reads the same until advanced, then exactly the advance later."""
    clock = Clock(0)
    start = clock.now()
    assert clock.now() == start
    clock.advance(42.5)
    assert clock.now() == start + 42.5


def test_the_clock_never_moves_back() -> None:
    """A negative advance is refused and leaves the clock where it was."""
    clock = Clock(0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == 0


async def test_advancing_past_a_sleep_ends_it_and_short_of_it_does_not() -> None:
    """A sleep on a frozen clock ends when advances reach its end, not before."""
    clock = Clock(0)
    woke = anyio.Event()

    async def sleeper() -> None:
        await clock.sleep(30)
        woke.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper)
            await anyio.wait_all_tasks_blocked()
            assert clock.sleepers == 1
            clock.advance(29)
            await anyio.wait_all_tasks_blocked()
            assert not woke.is_set() and clock.sleepers == 1  # 1 s still to go
            clock.advance(1)
            await woke.wait()
    assert clock.sleepers == 0


async def test_a_cancelled_sleep_leaves_no_sleeper() -> None:
    """Cancelling a sleep removes it from the clock's sleepers."""
    clock = Clock(0)
    with anyio.move_on_after(0):
        await clock.sleep(10)
    assert clock.sleepers == 0


async def test_a_scaled_clock_sleeps_its_scaled_time() -> None:
    """At scale 1000 a 5 s sleep passes 5 s on the clock (a few milliseconds of real time)."""
    clock = Clock(1000)
    before = clock.now()
    with anyio.fail_after(10):
        await clock.sleep(5)
    assert clock.now() - before >= 5
