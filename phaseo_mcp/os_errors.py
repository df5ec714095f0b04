"""Operating-system errors as answers: one table from ``errno`` to a failure kind and what to do.

Messages use ``strerror`` and the caller's wording only, never ``str(exc)``: that carries
absolute paths, which a remote HTTP client has no business seeing.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from phaseo_mcp.errors import FailureKind, PhaseoError

_KINDS: dict[int, FailureKind] = {
    errno.ENOSPC: "disk_full",
    errno.EFBIG: "disk_full",
    errno.ENAMETOOLONG: "name_too_long",
    errno.EACCES: "not_writable",
    errno.EPERM: "not_writable",
    errno.EROFS: "not_writable",
    errno.ETXTBSY: "not_writable",
    errno.EMFILE: "too_many_open_files",
    errno.ENFILE: "too_many_open_files",
    errno.EEXIST: "file_exists",
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    _KINDS[errno.EDQUOT] = "disk_full"

_ADVICE: dict[FailureKind, str] = {
    "disk_full": (
        "The disk (or quota) holding the output directory is full: free some space, or point "
        "PHASEO_OUTPUT_DIR at a bigger disk, or ask for a signed link with mode='url'."
    ),
    "name_too_long": (
        "The file name or path is too long for this filesystem: pass a shorter filename, or "
        "omit filename to use the video id."
    ),
    "not_writable": (
        "The server may not write there: make the output directory writable for the server, "
        "or point PHASEO_OUTPUT_DIR at one that is, or ask for a signed link with mode='url'."
    ),
    "too_many_open_files": (
        "The server ran out of file handles (too many transfers at once): try the same call "
        "again in a moment."
    ),
    "file_exists": "Pick another filename, or pass overwrite=true to replace the file.",
    "filesystem_error": (
        "The filesystem reported an error: check the disk holding the output directory, "
        "then try again."
    ),
}


def os_failure_kind(exc: OSError) -> FailureKind:
    return _KINDS.get(exc.errno or 0, "filesystem_error")


def os_failure(
    exc: OSError,
    *,
    doing: str,
    next_calls: Mapping[FailureKind, dict[str, Any]] | None = None,
) -> PhaseoError:
    """``exc`` as a ``PhaseoError``: ``doing`` says what failed (e.g. "Saving clip.mp4"),
    ``next_calls`` picks the call to suggest per failure kind."""
    kind = os_failure_kind(exc)
    reason = exc.strerror or type(exc).__name__
    return PhaseoError(
        f"{doing} failed: {reason}. {_ADVICE[kind]}",
        failure_kind=kind,
        next_call=(next_calls or {}).get(kind),
    )
