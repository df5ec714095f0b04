"""Operating-system errors become answers: one table, a failure kind and advice for each."""

from __future__ import annotations

import errno
import os

import pytest

from phaseo_mcp.errors import FailureKind
from phaseo_mcp.os_errors import os_failure

CASES = [
    (errno.ENOSPC, "disk_full", "full"),
    (errno.EDQUOT, "disk_full", "full"),
    (errno.EFBIG, "disk_full", "full"),
    (errno.ENAMETOOLONG, "name_too_long", "shorter filename"),
    (errno.EACCES, "not_writable", "writable"),
    (errno.EPERM, "not_writable", "writable"),
    (errno.EROFS, "not_writable", "writable"),
    (errno.EMFILE, "too_many_open_files", "again"),
    (errno.ENFILE, "too_many_open_files", "again"),
    (errno.EEXIST, "file_exists", "overwrite=true"),
    (errno.EIO, "filesystem_error", "check the disk"),
]


@pytest.mark.parametrize(
    ("code", "kind", "advice"), CASES, ids=[errno.errorcode[c[0]] for c in CASES]
)
def test_each_os_error_has_a_kind_and_says_what_to_do(
    code: int, kind: FailureKind, advice: str
) -> None:
    """The reason in words, what to do, and never the path the OS error carried."""
    exc = OSError(code, os.strerror(code), "/srv/private/owner-a/clip.mp4")
    retry = {"tool": "download_video", "arguments": {"video_id": "G-1"}}
    mapped = os_failure(exc, doing="Saving clip.mp4", next_calls={kind: retry})
    assert mapped.failure_kind == kind
    assert mapped.message.startswith(f"Saving clip.mp4 failed: {os.strerror(code)}.")
    assert advice in mapped.message
    assert "/srv/private" not in mapped.message
    assert mapped.next_call == retry


def test_a_kind_without_a_suggested_call_has_none() -> None:
    """An OS error whose kind suggests no call maps with next_call None."""
    mapped = os_failure(OSError(errno.ENOSPC, "No space left on device"), doing="Saving x.mp4")
    assert mapped.failure_kind == "disk_full" and mapped.next_call is None
