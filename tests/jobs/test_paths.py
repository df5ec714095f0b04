"""Where files may go: one function decides, and it says no clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from phaseo_mcp.errors import ConfigError, InputError
from phaseo_mcp.jobs.paths import (
    MAX_FILENAME_BYTES,
    TEMP_EXTRA_BYTES,
    Named,
    check_filename,
    confined_path,
    free_alternative,
    job_tag,
    prepare_output_dir,
    target_name,
    temp_job_tag,
    temp_name,
)


@pytest.mark.parametrize("name", ["sunrise.mp4", "my video (1).mp4", "clip_2026-11-25", "été.mp4"])
def test_plain_names_are_accepted(name: str) -> None:
    """Ordinary file names pass the check unchanged."""
    assert check_filename(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "../a", "a/b", "a\\b", "/abs", ".env", "~x", "CON", "lpt1.mp4", "a\x00", "x.", "a:b"],
)
def test_dangerous_names_are_refused(name: str) -> None:
    """Names that escape the folder, hide, or name devices are refused as bad input."""
    with pytest.raises(InputError):
        check_filename(name)


def test_names_get_the_right_extension_and_index_suffix() -> None:
    """Saved names get the MIME type's extension and an index suffix for extra outputs."""
    assert target_name("G-1", 0, "video/mp4", None, False).name == "G-1.mp4"
    assert target_name("G-1", 2, "video/webm", None, True).name == "G-1-2.webm"
    assert target_name("G-1", 1, "video/mp4", "sunrise", True).name == "sunrise-1.mp4"
    assert target_name("G-1", 0, "video/quicktime", "sunrise.mov", False).name == "sunrise.mov"
    assert target_name("G-1", 0, None, "sunrise.mov", False).name == "sunrise.mov"


def test_output_dir_problems_are_config_errors(tmp_path: Path) -> None:
    """A file, relative or templated output folder is a config error; a missing one is made."""
    afile = tmp_path / "f"
    afile.write_text("x")
    for bad in (afile, Path("relative"), Path("/x/${HOME}")):
        with pytest.raises(ConfigError):
            prepare_output_dir(bad)
    made = prepare_output_dir(tmp_path / "a" / "b")
    assert made.is_dir()


def test_confined_path_refuses_symlinks_and_non_files(tmp_path: Path) -> None:
    """A target that is a folder or a symlink is refused; a plain new name is allowed."""
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / "link.mp4").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError):
        confined_path(tmp_path, "dir.mp4")
    with pytest.raises(InputError):
        confined_path(tmp_path, "link.mp4")
    assert confined_path(tmp_path, "ok.mp4") == tmp_path / "ok.mp4"


def test_a_decomposed_name_is_accepted_and_saved_composed() -> None:
    """A macOS-style decomposed 'café.mp4' passes and comes back in its composed (NFC) form."""
    decomposed = "cafe\u0301.mp4"
    assert check_filename(decomposed) == "caf\u00e9.mp4"
    assert target_name("G-1", 0, "video/mp4", decomposed, False).name == "caf\u00e9.mp4"


DEVICE_SPELLINGS = [
    *("CON", "PRN", "AUX", "NUL", "con", "Nul", "aUx.mp4", "prn.tar.mp4"),
    *(f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789"),
    *("COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"),
    *("com\u00b9.mp4", "lpt\u00b3.webm", "com7.mp4", "LPT0.mov"),
    *("CON .mp4", "nul  .mp4", "AUX ", "PRN.", "COM1..", "con. "),
]


@pytest.mark.parametrize("name", DEVICE_SPELLINGS)
def test_every_device_spelling_windows_refuses_is_refused(name: str) -> None:
    """Device names in any case, with or without extension, trailing dots or spaces."""
    with pytest.raises(InputError, match="reserved"):
        check_filename(name)


@pytest.mark.parametrize(
    "name", ["CONSOLE.mp4", "com10.mp4", "lpt.mp4", "icon.mp4", "my con.mp4", "nully", "COMA"]
)
def test_names_that_only_look_like_devices_are_fine(name: str) -> None:
    """Names that merely resemble device names are accepted."""
    assert check_filename(name) == name


def test_the_length_limit_counts_utf8_bytes_with_the_temporary_suffix(tmp_path: Path) -> None:
    """255 bytes for the temporary name: 227 for the caller's, however many characters."""
    assert MAX_FILENAME_BYTES + TEMP_EXTRA_BYTES == 255
    longest = "\u00e9" * 111 + "a.mp4"  # 117 characters, 227 bytes
    assert len(longest.encode()) == MAX_FILENAME_BYTES
    assert check_filename(longest) == longest
    temp = temp_name(longest, "G-1")
    assert len(temp.encode()) == 255
    (tmp_path / temp).write_bytes(b"x")  # the filesystem takes it: the budget is real
    (tmp_path / longest).write_bytes(b"x")
    for too_long in ("\u00e9" * 112 + ".mp4", "a" * 228, "\u00e9" * 100 + "x" * 24 + ".mp4"):
        with pytest.raises(InputError, match="bytes"):
            check_filename(too_long)


def test_an_extension_contradicting_the_content_is_corrected_with_a_note() -> None:
    """clip.webm holding MP4 bytes becomes clip.mp4, and the result can say why."""
    named = target_name("G-1", 0, "video/mp4", "clip.webm", False)
    assert named.name == "clip.mp4"
    assert named.note is not None and ".webm" in named.note and ".mp4" in named.note
    assert target_name("G-1", 1, "video/mp4", "clip.mov", True).name == "clip-1.mp4"
    assert target_name("G-1", 0, "video/mp4", "clip.MP4", False) == Named("clip.MP4")
    assert target_name("G-1", 0, "video/mp4", "clip", False) == Named("clip.mp4")


def test_temporary_names_carry_the_job_and_are_never_a_callers_name() -> None:
    """Temporary names are hidden .part files tagged with the job, and a caller cannot use one."""
    temp = temp_name("clip.mp4", "G-1")
    assert temp.startswith(".clip.mp4.") and temp.endswith(".part")
    assert temp_job_tag(temp) == job_tag("G-1") != job_tag("G-2")
    assert temp_job_tag("clip.mp4") is None and temp_job_tag(".clip.mp4.part") is None
    with pytest.raises(InputError):
        check_filename(temp)


def test_a_taken_name_gets_a_free_alternative(tmp_path: Path) -> None:
    """A taken name gets the next free numbered alternative, or None when it cannot fit."""
    (tmp_path / "clip.mp4").write_bytes(b"a")
    (tmp_path / "clip (2).mp4").write_bytes(b"b")
    assert free_alternative(tmp_path, "clip.mp4") == "clip (3).mp4"
    assert free_alternative(tmp_path, "\u00e9" * 111 + "a.mp4") is None  # no room to add
