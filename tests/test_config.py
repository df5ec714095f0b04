"""Settings from the environment and flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phaseo_mcp.config import DEFAULT_BASE_URL, Settings

from helpers import TEST_KEY


def test_empty_key_counts_as_unset_and_defaults_apply() -> None:
    """A blank API key counts as unset and the other settings take their defaults."""
    settings = Settings.from_env({"PHASEO_API_KEY": "   "})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.output_dir.name == "phaseo" and settings.output_dir.is_absolute()
    assert settings.journal_path.name == "journal.sqlite3"


def test_flags_win_over_the_environment_and_the_key_stays_secret() -> None:
    """Flags override the environment, and the key is kept out of the settings' repr."""
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


# --- refused at start-up, before any paid call (a real CLI subprocess) ----------------------

INITIALIZE = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
)


def _start(tmp_path: Path, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``phaseo-mcp`` (stdio) with an initialize request waiting on stdin."""
    values = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_OUTPUT_DIR": str(tmp_path / "videos"),
        "PHASEO_STATE_DIR": str(tmp_path / "state"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "phaseo_mcp", *flags],
        env=values,
        cwd=tmp_path,
        input=INITIALIZE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", "-0.01", "1e999"])
def test_a_bad_cost_ceiling_stops_the_server_before_it_serves(tmp_path: Path, value: str) -> None:
    """PHASEO_MAX_COST_USD that is not a finite amount >= 0: exit 2 with a sentence naming
    the variable, no traceback, and no answer to the waiting initialize (nothing served)."""
    result = _start(tmp_path, PHASEO_MAX_COST_USD=value)
    assert result.returncode == 2, result
    assert "PHASEO_MAX_COST_USD" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "state").exists()


def test_a_bad_cost_ceiling_flag_is_refused_too(tmp_path: Path) -> None:
    """--max-cost-usd nan never silently means "no ceiling"."""
    result = _start(tmp_path, "--max-cost-usd", "nan")
    assert result.returncode == 2 and "PHASEO_MAX_COST_USD" in result.stderr, result
    assert result.stdout == ""


@pytest.mark.parametrize("variable", ["PHASEO_OUTPUT_DIR", "PHASEO_STATE_DIR"])
def test_a_relative_folder_is_refused_with_the_path_it_would_have_meant(
    tmp_path: Path, variable: str
) -> None:
    """A relative folder depends on where the client starts the server: refused, and the
    message shows the absolute path it would have meant from here."""
    result = _start(tmp_path, **{variable: "clips/phaseo"})
    assert result.returncode == 2, result
    assert variable in result.stderr and str(tmp_path / "clips" / "phaseo") in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "clips").exists()


def test_cost_ceilings_that_are_amounts_are_accepted() -> None:
    """0, decimals and a leading $ are amounts; validation does not refuse them."""
    assert Settings.from_env({"PHASEO_MAX_COST_USD": "0"}).max_cost_usd == 0
    assert Settings.from_env({"PHASEO_MAX_COST_USD": " $2.50 "}).max_cost_usd == 2.5
    with pytest.raises(ValueError, match="PHASEO_MAX_COST_USD"):
        Settings.from_env({}, max_cost_usd=float("nan"))


def test_media_origins_and_inline_limit_are_read_and_checked() -> None:
    """PHASEO_MEDIA_ORIGINS becomes deduplicated origins; bad values name their variable."""
    settings = Settings.from_env(
        {
            "PHASEO_MEDIA_ORIGINS": "https://cdn.example.com/videos, https://CDN.example.com",
            "PHASEO_INLINE_VIDEO_MAX_MB": "20",
        }
    )
    assert settings.media_origins == ("https://cdn.example.com",)
    assert settings.inline_video_max_mb == 20
    for name, value in (("PHASEO_MEDIA_ORIGINS", "ftp://x"), ("PHASEO_INLINE_VIDEO_MAX_MB", "nan")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: value})
