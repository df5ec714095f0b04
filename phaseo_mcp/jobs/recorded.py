"""Bounded memories of what the journal holds, or still owes, for each job.

``recorded``: the last (status, cost, error) written per (owner, video id); a poll that
changes nothing skips the journal write. An entry is remembered only after its write
succeeded, so a failed write is tried again at the next poll.

``unrecorded creates``: a create the gateway answered while the journal could not record it
(owner, video id -> intent row id); the next status read of that job records it as created,
with certainty, instead of leaving it to be matched later.

Both forget their oldest entries first, so no caller can grow them without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

DEFAULT_MAX_ENTRIES = 10_000

K = TypeVar("K")
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A least-recently-used map holding at most ``max_entries`` entries."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._entries.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        return list(self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
