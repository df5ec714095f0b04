"""Temporary download files: made locked, and the leftovers of killed processes removed.

A temporary file is held under an exclusive ``flock`` for as long as it is written, so a
leftover is one nobody holds: its writer died (``kill -9``, a power cut). The next download
of the same job removes that job's leftovers at once; any other leftover goes when it is
older than an hour (swept once per output folder per process, on its first download). A
file being written by a live process, even another replica on the same folder, is never
removed. Without ``fcntl`` (Windows) an open file cannot be deleted anyway.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from phaseo_mcp.jobs.paths import job_tag, temp_job_tag, temp_name

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
STALE_AFTER_SECONDS = 3600.0


@dataclass
class TempFile:
    """An open temporary file. Keep it open (so locked) until it has its final name."""

    path: Path
    file: BinaryIO

    def close(self) -> None:
        self.file.close()

    def discard(self) -> None:
        try:
            self.file.close()
        except OSError:  # the flush of what is still buffered fails again on a full disk
            pass
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def open_temp(target: Path, video_id: str) -> TempFile:
    """A new, exclusively created and locked temporary file beside ``target``."""
    temp = target.with_name(temp_name(target.name, video_id))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return TempFile(temp, os.fdopen(fd, "wb"))
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise


def _remove_if_abandoned(path: Path) -> bool:
    """Remove ``path`` unless a live writer holds its lock; True when removed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _leftovers(root: Path) -> list[tuple[Path, str, float]]:
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        tag = temp_job_tag(entry.name)
        if tag is None:
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                found.append((Path(entry.path), tag, entry.stat(follow_symlinks=False).st_mtime))
        except OSError:
            continue
    return found


def remove_job_leftovers(root: Path, video_id: str) -> int:
    """Remove the abandoned temporary files of one job, whatever their age."""
    tag = job_tag(video_id)
    removed = sum(_remove_if_abandoned(p) for p, t, _ in _leftovers(root) if t == tag)
    if removed:
        log.info("removed %d leftover temporary file(s) of %s", removed, video_id)
    return removed


def sweep_stale(root: Path, older_than: float = STALE_AFTER_SECONDS) -> int:
    """Remove every abandoned temporary file older than ``older_than`` seconds."""
    cutoff = time.time() - older_than
    removed = sum(_remove_if_abandoned(p) for p, _, mtime in _leftovers(root) if mtime < cutoff)
    if removed:
        log.info("swept %d stale temporary file(s) from the output directory", removed)
    return removed
