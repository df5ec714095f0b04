"""Where files may go: one function decides, and it says no clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from phaseo_mcp.errors import ConfigError, InputError
from phaseo_mcp.jobs.paths import check_filename, confined_path, prepare_output_dir, target_name


@pytest.mark.parametrize("name", ["sunrise.mp4", "my video (1).mp4", "clip_2026-11-25", "été.mp4"])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_filename(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "../a", "a/b", "a\\b", "/abs", ".env", "~x", "CON", "lpt1.mp4", "a\x00", "x.", "a:b"],
)
def test_dangerous_names_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        check_filename(name)


def test_names_get_the_right_extension_and_index_suffix() -> None:
    assert target_name("G-1", 0, "video/mp4", None, False) == "G-1.mp4"
    assert target_name("G-1", 2, "video/webm", None, True) == "G-1-2.webm"
    assert target_name("G-1", 1, "video/mp4", "sunrise", True) == "sunrise-1.mp4"
    assert target_name("G-1", 0, "video/mp4", "sunrise.mov", False) == "sunrise.mov"


def test_output_dir_problems_are_config_errors(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    for bad in (afile, Path("relative"), Path("/x/${HOME}")):
        with pytest.raises(ConfigError):
            prepare_output_dir(bad)
    made = prepare_output_dir(tmp_path / "a" / "b")
    assert made.is_dir()


def test_confined_path_refuses_symlinks_and_non_files(tmp_path: Path) -> None:
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / "link.mp4").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError):
        confined_path(tmp_path, "dir.mp4")
    with pytest.raises(InputError):
        confined_path(tmp_path, "link.mp4")
    assert confined_path(tmp_path, "ok.mp4") == tmp_path / "ok.mp4"
