"""The last step of a download: a finished temporary file takes its final name, atomically.

Without ``overwrite`` the step itself refuses to replace, so two downloads racing for one
name cannot both win (a check beforehand is only a courtesy): ``renameat2(RENAME_NOREPLACE)``
on Linux and ``renamex_np(RENAME_EXCL)`` on macOS, ``os.rename`` on Windows (which never
replaces), else a hard link then unlink of the temporary name. A filesystem that supports
none of these gets an exclusive claim of the name followed by a replace: still one winner,
at the price of an empty file at the final name for the instant in between.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCL = 0x4  # macOS sys/stdio.h
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}


class Unsupported(Exception):
    """This way of placing a file does not work on this system or filesystem."""


def _libc_function(name: str) -> Callable[..., int] | None:
    if os.name != "posix":
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    return function


_renameat2 = _libc_function("renameat2") if sys.platform.startswith("linux") else None
_renamex_np = _libc_function("renamex_np") if sys.platform == "darwin" else None


def _check(result: int, temp: Path, target: Path) -> None:
    if result == 0:
        return
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        raise Unsupported(os.strerror(code))
    if code == errno.EEXIST:
        raise FileExistsError(code, os.strerror(code), str(target))
    raise OSError(code, os.strerror(code), str(temp))


def rename_noreplace(temp: Path, target: Path) -> None:
    old, new = os.fsencode(temp), os.fsencode(target)
    if _renameat2 is not None:
        _check(_renameat2(_AT_FDCWD, old, _AT_FDCWD, new, _RENAME_NOREPLACE), temp, target)
    elif _renamex_np is not None:
        _check(_renamex_np(old, new, _RENAME_EXCL), temp, target)
    elif os.name == "nt":
        os.rename(temp, target)
    else:
        raise Unsupported("no rename that refuses to replace on this system")


def link_then_unlink(temp: Path, target: Path) -> None:
    try:
        os.link(temp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno in _UNSUPPORTED or exc.errno in (errno.EPERM, errno.EMLINK):
            raise Unsupported(exc.strerror) from None
        raise
    os.unlink(temp)


def claim_then_replace(temp: Path, target: Path) -> None:
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.replace(temp, target)


STRATEGIES: list[Callable[[Path, Path], None]] = [
    rename_noreplace,
    link_then_unlink,
    claim_then_replace,
]


def place(temp: Path, target: Path, *, overwrite: bool) -> None:
    """Give ``temp`` the name ``target``; ``FileExistsError`` if taken and not ``overwrite``.

    On that error ``temp`` is left where it was (the caller removes it)."""
    if overwrite:
        os.replace(temp, target)
        return
    for strategy in STRATEGIES:
        try:
            strategy(temp, target)
            return
        except Unsupported:
            continue
    raise AssertionError("claim_then_replace never reports Unsupported")  # pragma: no cover
