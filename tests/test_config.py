"""Settings from the environment and flags."""

from __future__ import annotations

from pathlib import Path

from phaseo_mcp.config import DEFAULT_BASE_URL, Settings


def test_empty_key_counts_as_unset_and_defaults_apply() -> None:
    settings = Settings.from_env({"PHASEO_API_KEY": "   "})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.output_dir.name == "phaseo" and settings.output_dir.is_absolute()
    assert settings.journal_path.name == "journal.sqlite3"


def test_flags_win_over_the_environment_and_the_key_stays_secret() -> None:
    env = {
        "PHASEO_API_KEY": "phaseo_v1_sk_a_b",
        "PHASEO_BASE_URL": "http://127.0.0.1:1/v1",
        "PHASEO_OUTPUT_DIR": "~/clips",
        "PHASEO_MAX_COST_USD": "2.5",
        "PHASEO_LOG_LEVEL": "debug",
    }
    settings = Settings.from_env(env, base_url="http://127.0.0.1:2/v1", api_key=None)
    assert settings.base_url == "http://127.0.0.1:2/v1"
    assert settings.output_dir == Path("~/clips").expanduser()
    assert settings.max_cost_usd == 2.5 and settings.log_level == "DEBUG"
    assert settings.api_key_value() == "phaseo_v1_sk_a_b"
    assert "phaseo_v1_sk_a_b" not in repr(settings) and "phaseo_v1_sk_a_b" not in str(settings)
