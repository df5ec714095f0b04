"""Where files may go: the one place that decides.

The output directory (a symlink to a directory is fine as the root: the user named it) is
created when missing. A caller-given filename is a bare name: no separators, no ``..``, no
absolute path, no control characters, no device or reserved name, and the final path must
sit directly in the resolved root and must not be a symlink or a non-regular file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from phaseo_mcp.errors import ConfigError, InputError

VIDEO_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
}
MAX_FILENAME_CHARS = 120
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_ALLOWED = re.compile(r"^[\w][\w .()+,=@\-]*$", re.UNICODE)
_TEMPLATE = re.compile(r"\$\{[^}]*\}|%[A-Za-z_]+%|\{\{.*\}\}")


def extension_for(mime_type: str | None) -> str:
    return VIDEO_EXTENSIONS.get((mime_type or "").lower(), ".mp4")


def prepare_output_dir(output_dir: Path) -> Path:
    """Create the root if needed and return its resolved, absolute form."""
    raw = str(output_dir)
    if _TEMPLATE.search(raw):
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
            "point PHASEO_OUTPUT_DIR at a writable directory."
        ) from None
    root = output_dir.resolve(strict=True)
    if not os.access(root, os.W_OK | os.X_OK):
        raise ConfigError(
            f"The output directory {raw} is not writable; "
            "point PHASEO_OUTPUT_DIR at a writable directory."
        )
    return root


def check_filename(filename: str) -> str:
    """Validate a caller-given bare file name (without deciding its extension)."""
    problem = None
    if not filename or len(filename) > MAX_FILENAME_CHARS:
        problem = f"must be 1–{MAX_FILENAME_CHARS} characters"
    elif "/" in filename or "\\" in filename or os.sep in filename:
        problem = "must be a bare file name without directory separators"
    elif filename.startswith(("~", ".")) or ".." in filename:
        problem = "must not start with '.' or '~' or contain '..'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in filename):
        problem = "must not contain control characters"
    elif Path(filename).is_absolute() or re.match(r"^[A-Za-z]:", filename):
        problem = "must not be an absolute path"
    elif _RESERVED.match(filename) or filename.endswith((" ", ".")):
        problem = "is a reserved device name on some systems"
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
) -> str:
    """The file name for one output (``<video_id>.mp4``, ``<video_id>-1.mp4``, or the caller's)."""
    ext = extension_for(mime_type)
    if filename is None:
        stem = video_id if index == 0 else f"{video_id}-{index}"
        return stem + ext
    check_filename(filename)
    stem, suffix = os.path.splitext(filename)
    if suffix and suffix.lower() not in VIDEO_EXTENSIONS.values():
        raise InputError(
            f"filename {filename[:60]!r} has the extension {suffix[:10]!r}; use "
            f"{', '.join(sorted(set(VIDEO_EXTENSIONS.values())))} or no extension at all."
        )
    suffix = suffix or ext
    if many and index > 0:
        stem = f"{stem}-{index}"
    return check_filename(stem + suffix)


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
