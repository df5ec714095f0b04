"""The bounded memory of what the journal already holds for each job.

A status poll that changes nothing skips the journal write. An entry is remembered only after
its write succeeded, so a failed write is tried again at the next poll; the oldest entries
are forgotten first, so no caller can grow the map without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

DEFAULT_RECORDED_ENTRIES = 10_000


class RecordedStatuses:
    """An LRU map of (owner, video id) to the last snapshot written to the journal."""

    def __init__(self, max_entries: int = DEFAULT_RECORDED_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[object, ...]] = OrderedDict()

    def unchanged(self, key: Hashable, snapshot: tuple[object, ...]) -> bool:
        """Was exactly this snapshot written last for ``key``?"""
        if self._entries.get(key) != snapshot:
            return False
        self._entries.move_to_end(key)
        return True

    def remember(self, key: Hashable, snapshot: tuple[object, ...]) -> None:
        """Call only after the journal write succeeded."""
        self._entries[key] = snapshot
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
