"""Time as the server sees it: real time, optionally sped up for tests (``Settings.time_scale``).

All waits and budgets go through a Clock, so with ``time_scale=100`` a 50 s budget passes
in 0.5 s of real time and a 20 s poll interval in 0.2 s. Tests can also move a clock forward
at once (:meth:`Clock.advance`), as they move the emulator's; ``Clock(0)`` stands still until
they do. Pass one to ``build_server(settings, clock=...)``.
"""

from __future__ import annotations

import math
import time

import anyio


class Clock:
    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._offset = 0.0
        self._sleepers: set[anyio.Event] = set()

    def now(self) -> float:
        """Monotonic seconds, in scaled time, plus every advance."""
        return time.monotonic() * self.scale + self._offset

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting on this clock now."""
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``; the sleeps that end by then end now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        for sleeper in self._sleepers:
            sleeper.set()

    async def sleep(self, seconds: float) -> None:
        end = self.now() + seconds
        while (left := end - self.now()) > 0:
            moved = anyio.Event()
            self._sleepers.add(moved)
            try:
                with anyio.move_on_after(left / self.scale if self.scale > 0 else math.inf):
                    await moved.wait()
            finally:
                self._sleepers.discard(moved)
