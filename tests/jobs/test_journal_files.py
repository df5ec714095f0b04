"""Damaged journal files (random bytes, truncated, read-only) are refused with the file's name
and how to recover, through the API and the CLI; nothing is ever deleted or changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_open import open_journal
from phaseo_mcp.jobs.recorded import BoundedMap

from helpers import damage_journal, written_journal

CLI_TIMEOUT_SECONDS = 60


def _cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "phaseo_mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture(params=["random-bytes", "truncated"])
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return damage_journal(tmp_path / "state", request.param)


def test_a_damaged_journal_is_refused_with_its_name_and_recovery(damaged: Path) -> None:
    """Opening a random-bytes or truncated journal: a config error naming the file, the word
    corrupt, `journal check` and moving it aside; the file is left byte for byte."""
    before = damaged.read_bytes()
    with pytest.raises(JournalError) as caught:
        open_journal(journal_url=None, state_dir=damaged.parent)
    message = caught.value.message
    assert str(damaged) in message and "corrupt" in message
    assert "phaseo-mcp journal check" in message and "move the file aside" in message
    assert caught.value.failure_kind == "config"
    assert damaged.read_bytes() == before


def test_journal_check_reports_a_damaged_journal_and_exits_non_zero(damaged: Path) -> None:
    """`journal check` on a damaged file: PROBLEM, the file's name, exit 1, no traceback."""
    before = damaged.read_bytes()
    result = _cli("journal", "check", "--state-dir", str(damaged.parent))
    assert result.returncode == 1, result
    assert result.stdout.startswith("PROBLEM") and str(damaged) in result.stdout
    assert "corrupt" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert damaged.read_bytes() == before


def test_journal_prune_on_a_damaged_journal_says_so_without_a_traceback(damaged: Path) -> None:
    """`journal prune` cannot open a damaged file: one sentence, exit 1, nothing deleted."""
    before = damaged.read_bytes()
    result = _cli("journal", "prune", "--state-dir", str(damaged.parent))
    assert result.returncode == 1, result
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr
    assert damaged.read_bytes() == before


def test_journal_check_passes_a_healthy_journal_and_a_missing_one(tmp_path: Path) -> None:
    """OK (exit 0) for an intact journal, and for none yet (check never creates one)."""
    missing = tmp_path / "none"
    result = _cli("journal", "check", "--state-dir", str(missing))
    assert result.returncode == 0 and "no journal yet" in result.stdout, result
    assert not missing.exists()
    path = written_journal(tmp_path / "state", rows=3)
    result = _cli("journal", "check", "--state-dir", str(path.parent))
    assert result.returncode == 0 and result.stdout.startswith("OK"), result
    journal = open_journal(journal_url=None, state_dir=path.parent)
    try:
        assert len(journal.list_jobs("k", limit=10)) == 3  # the probe changed no job
    finally:
        journal.close()


@pytest.mark.parametrize("days", ["-1", "-0.5", "nan"])
def test_journal_prune_refuses_a_negative_age(tmp_path: Path, days: str) -> None:
    """--older-than -1 is refused with a sentence (exit 2), no traceback, nothing removed."""
    path = written_journal(tmp_path / "state", rows=2)
    result = _cli("journal", "prune", "--older-than", days, "--state-dir", str(path.parent))
    assert result.returncode == 2, result
    assert "--older-than" in result.stderr and "Nothing was removed" in result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 2


def read_only_prefix(folder: Path) -> tuple[str, ...]:
    """Run a command with ``folder`` bind-mounted read-only in a private mount namespace
    (root ignores file modes; a read-only mount stops even root)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a read-only mount")
    script = (
        f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" "{folder}" '
        '&& exec "$@"'
    )
    return ("unshare", "-m", "sh", "-c", script, "sh")


def test_journal_check_reports_a_read_only_journal(tmp_path: Path) -> None:
    """A journal on a read-only mount: `journal check` says read-only (not corrupt), exit 1."""
    path = written_journal(tmp_path / "state", rows=2)
    result = _cli(
        "journal", "check", "--state-dir", str(path.parent), prefix=read_only_prefix(path.parent)
    )
    assert result.returncode == 1, result
    assert "read-only" in result.stdout and str(path) in result.stdout
    assert "corrupt" not in result.stdout


def test_the_recorded_map_is_bounded_and_forgets_the_oldest_first() -> None:
    """The per-job "already recorded" memory never holds more than its limit."""
    memory: BoundedMap[int, tuple[object, ...]] = BoundedMap(max_entries=100)
    for i in range(10_000):
        memory.put(i, ("queued",))
        if i == 50:
            assert memory.get(0) == ("queued",)  # used recently: kept longer
    assert len(memory) == 100
    assert 9_999 in memory and 5_000 not in memory
    with pytest.raises(ValueError):
        BoundedMap(max_entries=0)
