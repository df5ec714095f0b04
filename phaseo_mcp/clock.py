"""Time as the server sees it: real time, optionally sped up for tests (``Settings.time_scale``).

All waits and budgets go through a Clock, so with ``time_scale=100`` a 50 s budget passes
in 0.5 s of real time and a 20 s poll interval in 0.2 s.
"""

from __future__ import annotations

import time

import anyio


class Clock:
    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def now(self) -> float:
        """Monotonic seconds, in scaled time."""
        return time.monotonic() * self.scale

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await anyio.sleep(seconds / self.scale)
