"""The price confirmation's pure rules: when to ask, what the question says, the settings."""

from __future__ import annotations

import pytest

from phaseo_mcp.config import DEFAULT_CONFIRM_ABOVE_USD, Settings
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.jobs.confirm import (
    needs_confirmation,
    over_ceiling,
    question_text,
    rule_brief,
    rule_text,
)

KEY = "0123456789abcdef0123456789abcdef-shared"


@pytest.mark.parametrize(
    ("estimate", "threshold", "asks"),
    [
        (0.49, 0.50, False),
        (0.50, 0.50, True),  # at the threshold asks
        (3.20, 0.50, True),
        (None, 0.50, True),  # unknown price asks whenever confirmation is on
        (0.0, 0.0, False),  # 0: every job priced above zero
        (0.01, 0.0, True),
        (None, 0.0, True),
        (100.0, None, False),  # off never asks
        (None, None, False),
    ],
)
def test_the_threshold_rule(estimate: float | None, threshold: float | None, asks: bool) -> None:
    """At or above the threshold asks; 0 asks for any price above zero; off never."""
    assert needs_confirmation(estimate, threshold) is asks


def test_the_ceiling_comes_first() -> None:
    """Over PHASEO_MAX_COST_USD, or unpriced with a ceiling set, the create is refused anyway."""
    assert over_ceiling(6.0, 5.0) and over_ceiling(None, 5.0)
    assert not over_ceiling(5.0, 5.0) and not over_ceiling(None, None)


def test_the_question_names_what_is_bought() -> None:
    """Model, duration, resolution, outputs, price and the prompt's first words; a long
    prompt is cut with an ellipsis; the same request gives the same text."""
    req = CreateVideoRequest(
        model="google/veo-3.1",
        prompt=" ".join(f"word{n}" for n in range(40)),
        duration=8,
        resolution="1080p",
        sample_count=2,
    )
    text = question_text(req, 6.4, None)
    assert text.startswith("Generate an 8 s 1080p video with google/veo-3.1 (2 outputs)")
    assert "about $6.40" in text and "word0 word1" in text and "word39" not in text
    assert "…" in text
    assert question_text(req, 6.4, None) == text
    sized = CreateVideoRequest(model="openai/sora-2", prompt="a cat", size="1280x720", duration=4)
    assert "a 4 s 1280x720 video" in question_text(sized, 0.4, None)
    unpriced = question_text(sized, None, "the model catalogue is unavailable")
    assert "an unknown price (the model catalogue is unavailable)" in unpriced


def test_the_rule_text_states_each_setting() -> None:
    """What the tool description and doctor say for each configuration."""
    assert "$0.50 or more" in rule_text(0.5, False)
    assert "above $0" in rule_text(0.0, False)
    assert "are refused" in rule_text(0.5, True)
    assert "off" in rule_text(None, True)
    assert rule_brief(0.5, False) == "The user is asked to OK prices >= $0.50 first."
    strict = rule_brief(0, True)
    assert strict.startswith("The user is asked to OK any price") and "refused" in strict
    assert rule_brief(None, True) == ""


def test_settings_from_the_environment() -> None:
    """Default 0.50; 'off' turns it off; the switch and shared keys are read; bad values
    are errors naming the variable."""
    assert Settings().confirm_above_usd == DEFAULT_CONFIRM_ABOVE_USD == 0.50
    env = {
        "PHASEO_CONFIRM_ABOVE_USD": "off",
        "PHASEO_REQUIRE_CONFIRMATION": "yes",
        "PHASEO_MCP_STATE_KEYS": f"{KEY}, {KEY}-older",
    }
    settings = Settings.from_env(env)
    assert settings.confirm_above_usd is None and settings.require_confirmation
    assert [k.get_secret_value() for k in settings.state_keys] == [KEY, f"{KEY}-older"]
    assert KEY not in repr(settings)
    assert Settings.from_env({"PHASEO_CONFIRM_ABOVE_USD": "$2"}).confirm_above_usd == 2.0
    assert Settings.from_env({}, confirm_above_usd="off").confirm_above_usd is None
    for name, value in (
        ("PHASEO_CONFIRM_ABOVE_USD", "-1"),
        ("PHASEO_CONFIRM_ABOVE_USD", "nan"),
        ("PHASEO_REQUIRE_CONFIRMATION", "maybe"),
        ("PHASEO_MCP_STATE_KEYS", "short"),
        ("PHASEO_MCP_STATE_KEYS", f"{KEY},{KEY}"),
    ):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: value})
