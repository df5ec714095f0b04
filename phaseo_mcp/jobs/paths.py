"""Where files may go: the one place that decides.

The output directory (a symlink to a directory is fine as the root: the user named it) is
created when missing. A caller-given filename is NFC-normalised, then must be a bare name: no
separators, no ``..``, no absolute path, no control characters, no name Windows reserves for a
device, at most 255 bytes once encoded *with* the temporary name's additions, and the final
path must sit directly in the resolved root and must not be a symlink or a non-regular file.
Temporary files (``.<name>.<job tag>-<random>.part``) are hidden names no caller can pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from phaseo_mcp.config import find_template
from phaseo_mcp.errors import ConfigError, InputError
from phaseo_mcp.os_errors import os_failure_kind

VIDEO_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
}
MAX_NAME_BYTES = 255  # NAME_MAX of ext4, APFS, NTFS (UTF-16 units there: never fewer)
_TAG_CHARS = 8
_TOKEN_CHARS = 12
TEMP_EXTRA_BYTES = len(".") + len(".") + _TAG_CHARS + len("-") + _TOKEN_CHARS + len(".part")
MAX_FILENAME_BYTES = MAX_NAME_BYTES - TEMP_EXTRA_BYTES
_TEMP = re.compile(rf"^\..+\.([0-9a-f]{{{_TAG_CHARS}}})-[0-9a-f]{{{_TOKEN_CHARS}}}\.part$", re.S)
# Windows refuses these as the part before the first dot, trailing spaces ignored, any case;
# it also maps the superscript digits ¹ ² ³ onto COM/LPT ports.
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"{port}{digit}" for port in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"}
)
_ALLOWED = re.compile(r"^[\w][\w .()+,=@\-]*$", re.UNICODE)


@dataclass(frozen=True)
class Named:
    """A final file name, and why it differs from the caller's (None when it does not)."""

    name: str
    note: str | None = None


def job_tag(video_id: str) -> str:
    return hashlib.sha256(video_id.encode()).hexdigest()[:_TAG_CHARS]


def temp_name(name: str, video_id: str) -> str:
    """A fresh hidden temporary name beside ``name``, tagged with the job it belongs to."""
    return f".{name}.{job_tag(video_id)}-{secrets.token_hex(_TOKEN_CHARS // 2)}.part"


def temp_job_tag(name: str) -> str | None:
    """The job tag of one of our temporary names; None for any other name."""
    match = _TEMP.match(name)
    return match.group(1) if match else None


def extension_for(mime_type: str | None) -> str:
    return VIDEO_EXTENSIONS.get((mime_type or "").lower(), ".mp4")


def prepare_output_dir(output_dir: Path) -> Path:
    """Create the root if needed and return its resolved, absolute form."""
    raw = str(output_dir)
    if find_template(raw):
        raise ConfigError(
            f"PHASEO_OUTPUT_DIR looks like an unsubstituted template ({raw!r}); set it to a real "
            "absolute directory in the MCP client's configuration."
        )
    if not output_dir.is_absolute():
        raise ConfigError(
            f"PHASEO_OUTPUT_DIR must be an absolute path, not {raw!r} (clients start servers "
            "in unpredictable working directories)."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(
            f"The output directory {raw} exists but is not a directory; "
            "point PHASEO_OUTPUT_DIR at a directory."
        )
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the output directory {raw} ({exc.strerror}); "
            "point PHASEO_OUTPUT_DIR at a writable directory, or ask for a signed link with "
            "mode='url'.",
            failure_kind=os_failure_kind(exc),
        ) from None
    root = output_dir.resolve(strict=True)
    if not os.access(root, os.W_OK | os.X_OK):
        raise ConfigError(
            f"The output directory {raw} is not writable (or is on a read-only filesystem); "
            "point PHASEO_OUTPUT_DIR at a writable directory, or ask for a signed link with "
            "mode='url'.",
            failure_kind="not_writable",
        )
    return root


def is_device_name(filename: str) -> bool:
    """True for every spelling Windows treats as a device: ``CON``, ``con.mp4``, ``Com¹ .x``."""
    return filename.split(".")[0].rstrip(" ").casefold() in _DEVICES


def check_filename(filename: str) -> str:
    """Validate a caller-given bare file name; returns its NFC form (the one to save)."""
    filename = unicodedata.normalize("NFC", filename)
    size = len(filename.encode("utf-8", "surrogatepass"))
    problem = None
    if not filename:
        problem = "must not be empty"
    elif size > MAX_FILENAME_BYTES:
        problem = (
            f"is {size} bytes long in UTF-8; names may have at most {MAX_FILENAME_BYTES} bytes "
            f"(the filesystem's {MAX_NAME_BYTES}, less the temporary name's additions)"
        )
    elif is_device_name(filename):
        problem = "is a reserved device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9)"
    elif filename.endswith((" ", ".")):
        problem = "must not end with a dot or a space (Windows drops them)"
    elif "/" in filename or "\\" in filename or os.sep in filename:
        problem = "must be a bare file name without directory separators"
    elif filename.startswith(("~", ".")) or ".." in filename:
        problem = "must not start with '.' or '~' or contain '..'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in filename):
        problem = "must not contain control characters"
    elif Path(filename).is_absolute() or re.match(r"^[A-Za-z]:", filename):
        problem = "must not be an absolute path"
    elif not _ALLOWED.match(filename):
        problem = "may only use letters, digits, spaces and - _ . ( ) + , = @"
    if problem:
        raise InputError(
            f"filename {filename[:60]!r} {problem}. Pass a plain name like 'sunrise.mp4'; "
            "files always go into the output directory."
        )
    return filename


def target_name(
    video_id: str, index: int, mime_type: str | None, filename: str | None, many: bool
) -> Named:
    """The file name for one output (``<video_id>.mp4``, ``<video_id>-1.mp4``, or the caller's).

    A caller's video extension that contradicts the output's known MIME type is replaced by
    the right one (a ``.webm`` name on MP4 bytes would not play), and ``note`` says so."""
    ext = extension_for(mime_type)
    if filename is None:
        stem = video_id if index == 0 else f"{video_id}-{index}"
        return Named(stem + ext)
    filename = check_filename(filename)
    stem, suffix = os.path.splitext(filename)
    if suffix and suffix.lower() not in VIDEO_EXTENSIONS.values():
        raise InputError(
            f"filename {filename[:60]!r} has the extension {suffix[:10]!r}; use "
            f"{', '.join(sorted(set(VIDEO_EXTENSIONS.values())))} or no extension at all."
        )
    note = None
    if suffix and (mime_type or "").lower() in VIDEO_EXTENSIONS and suffix.lower() != ext:
        note = (
            f"The output is {mime_type}, so it was saved with the extension {ext} instead of "
            f"{suffix} (a {suffix} name would not match its content)."
        )
        suffix = ext
    suffix = suffix or ext
    if many and index > 0:
        stem = f"{stem}-{index}"
    return Named(check_filename(stem + suffix), note)


def free_alternative(root: Path, name: str) -> str | None:
    """A similar name not taken in ``root`` (``clip (2).mp4``…), or None."""
    stem, suffix = os.path.splitext(name)
    for n in range(2, 100):
        candidate = f"{stem} ({n}){suffix}"
        try:
            candidate = check_filename(candidate)
        except InputError:
            return None
        if not os.path.lexists(root / candidate):
            return candidate
    return None


def confined_path(root: Path, name: str) -> Path:
    """``root / name``, refusing anything that would land outside ``root`` or is not a file."""
    path = root / name
    if path.parent != root:
        raise InputError("filename must be a bare file name inside the output directory.")
    if path.is_symlink():
        raise InputError(
            f"{name} in the output directory is a symbolic link; refusing to write through it. "
            "Pick another filename."
        )
    if path.exists() and not path.is_file():
        raise InputError(f"{name} exists in the output directory and is not a regular file.")
    return path
