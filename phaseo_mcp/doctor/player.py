"""The doctor's row for the inline player (MCP Apps): where it may play videos from."""

from __future__ import annotations

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.table import Check
from phaseo_mcp.server.player_source import media_origins


def check_inline_player(settings: Settings) -> Check:
    """The media origins the player's CSP allows and the inline size limit."""
    origins = media_origins(settings) or ["nowhere"]
    limit = settings.inline_video_max_mb
    inline = (
        f"saved videos up to {limit:g} MB play from base64 (PHASEO_INLINE_VIDEO_MAX_MB)"
        if limit
        else "never from base64 (PHASEO_INLINE_VIDEO_MAX_MB=0)"
    )
    return Check(
        "inline player",
        "OK",
        f"signed URLs from {', '.join(origins)} (PHASEO_BASE_URL, PHASEO_MEDIA_ORIGINS); {inline}",
    )
