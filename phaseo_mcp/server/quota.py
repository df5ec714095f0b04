"""The per-owner byte quota of ``--server-files``: checked before a transfer starts, against
the files in the owner's folder plus the transfers still running for that owner (their
sizes are reserved, so two downloads at once cannot both squeeze under the limit)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phaseo_mcp.errors import InputError

PART_SUFFIX = ".part"  # temp files of running transfers: reserved in full instead


class Quotas:
    """Bytes reserved by running transfers, per owner."""

    def __init__(self) -> None:
        self._reserved: dict[str, int] = {}

    @contextmanager
    def reserve(
        self,
        owner_id: str,
        *,
        quota: int,
        root: Path,
        target: Path,
        size: int | None,
        overwrite: bool,
        video_id: str,
    ) -> Iterator[None]:
        """Hold ``size`` bytes of ``owner_id``'s quota (0 = unlimited) for the block; an
        InputError (``over_quota``) before anything is fetched when they do not fit."""
        if not quota or not size:
            yield
            return
        used = folder_bytes(root) + self._reserved.get(owner_id, 0)
        if overwrite and target.is_file():
            used -= target.stat().st_size
        if used + size > quota:
            raise InputError(
                f"Saving this video ({size} bytes) would take your files on this server to "
                f"{used + size} bytes, over the {quota}-byte quota the operator set. Nothing "
                'was downloaded: call download_video with mode="url" for a signed link '
                "instead, or ask the operator to free space or raise --server-files-quota.",
                failure_kind="over_quota",
                next_call={
                    "tool": "download_video",
                    "arguments": {"video_id": video_id, "mode": "url"},
                },
            )
        self._reserved[owner_id] = self._reserved.get(owner_id, 0) + size
        try:
            yield
        finally:
            left = self._reserved.get(owner_id, 0) - size
            if left > 0:
                self._reserved[owner_id] = left
            else:
                self._reserved.pop(owner_id, None)


def folder_bytes(root: Path) -> int:
    """Bytes of the regular files directly in ``root`` (running transfers' temp files
    excluded: their full size is reserved instead)."""
    used = 0
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.endswith(PART_SUFFIX):
                continue
            if entry.is_file(follow_symlinks=False):
                used += entry.stat(follow_symlinks=False).st_size
    return used
