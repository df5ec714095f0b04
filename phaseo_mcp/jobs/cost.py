"""The cost ceiling (``PHASEO_MAX_COST_USD``): a create above it, or one that cannot be
priced while it is set, is refused before anything is sent."""

from __future__ import annotations

from phaseo_mcp.errors import InputError


def check_cost_ceiling(
    ceiling: float | None, estimate: float | None, model: str, unpriced: str | None
) -> None:
    """Refuse, before anything is sent, a create above PHASEO_MAX_COST_USD or that cannot be
    priced while the limit is set (``unpriced``: why there is no catalogue to price it)."""
    if ceiling is None:
        return
    if estimate is None:
        why = unpriced or f"the catalogue gives no price for {model}"
        message = (
            f"PHASEO_MAX_COST_USD limits a video to ${ceiling:.2f}, but this one's cost cannot "
            f"be estimated ({why}). Nothing was sent: pick a model that list_video_models "
            "shows with a price, try again later, or ask the user to unset the limit."
        )
    elif estimate > ceiling:
        message = (
            f"This video is estimated at ${estimate:.2f}, above the PHASEO_MAX_COST_USD limit "
            f"of ${ceiling:.2f}. Nothing was sent: choose a shorter duration, fewer samples or "
            "a cheaper model, or ask the user to raise the limit."
        )
    else:
        return
    raise InputError(
        message,
        failure_kind="over_budget",
        next_call={"tool": "list_video_models", "arguments": {}},
    )
