"""Where the inline player gets a finished video's bytes, and what it shows meanwhile.

Knows nothing of MCP: it turns the last known ``Job`` (plus the saved file, if any) into the
plain dict the view reads from ``structuredContent``. Order of preference: a signed URL on an
origin the view's CSP allows; else base64 chunks of a file this server already saved (never a
new download); else words saying where the video is.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

from phaseo_mcp.config import Settings
from phaseo_mcp.config_values import origin_of
from phaseo_mcp.gateway.job import Job, to_unix

PLAYER_URI = "ui://phaseo/player.html"
PLAYER_META: dict[str, Any] = {"ui": {"resourceUri": PLAYER_URI}}  # on create_video
# Raw bytes per chunk: a multiple of 3, so the base64 pieces join into one data: URL, and
# small enough that a chunk message (base64 + JSON) stays far below 4 MiB.
CHUNK_BYTES = 3 * 700 * 1024


def media_origins(settings: Settings) -> list[str]:
    """The origins signed URLs may use: PHASEO_BASE_URL's, then PHASEO_MEDIA_ORIGINS."""
    try:
        base = [origin_of(settings.base_url)]
    except ValueError:  # start-up checks report a bad base URL; the CSP then names none
        base = []
    return list(dict.fromkeys([*base, *settings.media_origins]))


def usable_url(job: Job, settings: Settings, now: float) -> tuple[str, int | None] | None:
    """Output 0's signed URL and expiry, if its origin is allowed and it has not expired."""
    out = next((o for o in job.outputs if o.index == 0), None)
    if out is None or not out.download_url:
        return None
    try:
        origin = origin_of(out.download_url)
    except ValueError:
        return None
    expires = to_unix(out.expires_at)
    if origin not in media_origins(settings) or (expires is not None and expires <= now + 5):
        return None
    return out.download_url, expires


def inline_limit_bytes(settings: Settings) -> int:
    return int(settings.inline_video_max_mb * 1024 * 1024)


def describe(
    job: Job,
    settings: Settings,
    now: float,
    saved: Path | None,
    saved_bytes: int | None,
    *,
    links: bool = True,
) -> dict[str, Any]:
    """What the view shows for ``job``: status, progress, facts, and the source to play
    (``links=False``: the view's host blocks the URL's origin, so never a URL)."""
    view: dict[str, Any] = {
        "video_id": job.video_id,
        "status": job.status,
        "terminal": job.terminal,
        "progress": job.progress,
        "poll_after_seconds": job.poll_after_seconds,
        "cost_usd": job.cost_usd,
        "duration_seconds": job.duration_seconds,
        "size": job.size,
        "bytes": job.outputs[0].bytes if job.outputs else None,
        "message": None,
        "source": None,
    }
    if job.status != "completed":
        if job.terminal:
            view["message"] = job.failure_message or f"The video job ended: {job.status}."
        return view
    url = usable_url(job, settings, now) if links else None
    if url is not None:
        view["source"] = {"kind": "url", "url": url[0], "expires_at": url[1]}
        return view
    limit = inline_limit_bytes(settings)
    if saved is not None and saved_bytes is not None:
        if saved_bytes <= limit:
            view["source"] = {
                "kind": "inline",
                "mime_type": (job.outputs[0].mime_type if job.outputs else None) or "video/mp4",
                "bytes": saved_bytes,
                "chunks": max(1, math.ceil(saved_bytes / CHUNK_BYTES)),
            }
            return view
        view["message"] = (
            f"This video ({saved_bytes / 1048576:.1f} MB) is too large to show here (the limit "
            f"is {settings.inline_video_max_mb:g} MB). It is saved as {saved.name} in the "
            "server's output folder."
        )
    else:
        view["message"] = (
            f"The video {job.video_id} is ready. Ask to download it (download_video) to "
            "save it, then it plays here."
        )
    view["source"] = {"kind": "none"}
    return view


def read_chunk(path: Path, index: int) -> str:
    """Chunk ``index`` of a saved file, base64; only that chunk is read into memory."""
    with path.open("rb") as file:
        file.seek(index * CHUNK_BYTES)
        return base64.b64encode(file.read(CHUNK_BYTES)).decode("ascii")
