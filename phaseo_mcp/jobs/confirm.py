"""Price confirmation: when a create asks the person first, and what the question says.

Pure rules; ``server/confirm.py`` asks the question through the host (MCP elicitation).

* ``PHASEO_CONFIRM_ABOVE_USD`` (threshold): a create estimated at or above it asks. ``0`` asks
  for every job priced above zero; ``None`` (``off``) never asks. A create that cannot be
  priced asks whenever confirmation is on, saying the price is unknown.
* ``PHASEO_MAX_COST_USD`` comes first: a create it refuses is never asked about.
* The question names the model, duration, resolution or size, outputs, price and the first
  words of the prompt. It is built only from those request fields, so no key or webhook
  secret can reach it, and it renders the same on every replica and every round (the SDK
  accepts an answer only for the exact question that was shown).
"""

from __future__ import annotations

from phaseo_mcp.gateway.requests import CreateVideoRequest

PROMPT_EXCERPT_WORDS = 12
PROMPT_EXCERPT_CHARS = 120
CONFIRM_FIELD = "confirm"
CONFIRM_TITLE = "Start this paid job"


def needs_confirmation(estimate: float | None, threshold: float | None) -> bool:
    """The threshold rule: off never asks; unknown prices always ask; otherwise at or above
    the threshold, and never for a job priced at zero."""
    if threshold is None:
        return False
    if estimate is None:
        return True
    return estimate > 0 and estimate >= threshold


def over_ceiling(estimate: float | None, ceiling: float | None) -> bool:
    """True when PHASEO_MAX_COST_USD refuses this create anyway (the create then says why)."""
    return ceiling is not None and (estimate is None or estimate > ceiling)


def prompt_excerpt(prompt: str) -> str:
    """The first words of the prompt, on one line, shortened with an ellipsis."""
    words = prompt.split()
    excerpt = " ".join(words[:PROMPT_EXCERPT_WORDS])
    cut = len(words) > PROMPT_EXCERPT_WORDS or len(excerpt) > PROMPT_EXCERPT_CHARS
    excerpt = excerpt[:PROMPT_EXCERPT_CHARS].rstrip()
    return excerpt + ("…" if cut else "")


def _price(estimate: float | None, unpriced: str | None) -> str:
    if estimate is None:
        return f"an unknown price ({unpriced or 'the catalogue lists no price for this model'})"
    return f"about ${estimate:.2f}"


def _article(words: str) -> str:
    """'an' before a spoken vowel: eight, eighty…, eleven, eighteen ("an 8 s video")."""
    first = words.split(" ", 1)[0]
    return "an" if first.startswith("8") or first in ("11", "18") else "a"


def question_text(req: CreateVideoRequest, estimate: float | None, unpriced: str | None) -> str:
    """The one question the person sees, e.g. "Generate an 8 s 1080p video with
    google/veo-3.1 (2 outputs) for about $6.40? Prompt: '…'".

    ``unpriced``: a fixed phrase saying why there is no price (never an error's own text,
    which could differ between replicas and rounds)."""
    shape = [f"{req.duration} s" if req.duration is not None else None]
    shape.append(req.size or req.resolution)
    if req.size is None and req.aspect_ratio:
        shape.append(req.aspect_ratio)
    described = " ".join(s for s in shape if s)
    samples = req.sample_count or 1
    outputs = f" ({samples} outputs)" if samples > 1 else ""
    video = f"{_article(described)} {described} video" if described else "a video"
    return (
        f"Generate {video} with {req.model}{outputs} for {_price(estimate, unpriced)}? "
        f"Prompt: '{prompt_excerpt(req.prompt)}'. This starts a paid job."
    )


def rule_text(threshold: float | None, require: bool) -> str:
    """The effective rule in one sentence: for the tool description and doctor."""
    if threshold is None:
        rule = "Price confirmation is off (PHASEO_CONFIRM_ABOVE_USD=off)"
    elif threshold == 0:
        rule = "Every create with a price above $0 (or an unknown price) asks the user first"
    else:
        rule = (
            f"Creates estimated at ${threshold:.2f} or more (or with an unknown price) ask "
            "the user first"
        )
    if threshold is not None:
        rule += " through the host's dialog; if the user declines, nothing is sent" + (
            ", and hosts that cannot show the dialog are refused"
            if require
            else "; hosts that cannot show the dialog create as usual"
        )
    return rule + "."


def rule_brief(threshold: float | None, require: bool) -> str:
    """The rule in a few words, for create_video's description (tools/list has a size budget;
    unknown prices ask too, as the question itself says)."""
    if threshold is None:
        return ""
    rule = "any price" if threshold == 0 else f"prices >= ${threshold:.2f}"
    return f"The user is asked to OK {rule} first" + (" (no dialog: refused)." if require else ".")
