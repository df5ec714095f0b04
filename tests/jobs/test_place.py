"""The final step of a download: atomic, and without overwrite it never replaces anything,
whichever of the ways to do that the system offers, even when two writers race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from phaseo_mcp.jobs.place import (
    STRATEGIES,
    Unsupported,
    claim_then_replace,
    link_then_unlink,
    place,
    rename_noreplace,
)

Strategy = Callable[[Path, Path], None]
ROUNDS = 25


def _race(strategy: Strategy, root: Path, round_no: int) -> tuple[list[bytes], list[bytes]]:
    """Two threads place different files at one name at once: (winners', losers') bytes."""
    target = root / f"race-{round_no}.mp4"
    temps = []
    for who in (b"A", b"B"):
        temp = root / f".race-{round_no}.{who.decode()}.part"
        temp.write_bytes(who * (100 + round_no))
        temps.append(temp)
    start = threading.Barrier(2)
    won: list[bytes] = []
    lost: list[bytes] = []

    def run(temp: Path) -> None:
        content = temp.read_bytes()
        start.wait(timeout=10)
        try:
            strategy(temp, target)
            won.append(content)
        except FileExistsError:
            lost.append(content)

    threads = [threading.Thread(target=run, args=(t,)) for t in temps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert target.read_bytes() in won
    return won, lost


def _usable(strategy: Strategy, root: Path) -> bool:
    probe, target = root / ".probe.part", root / "probe"
    probe.write_bytes(b"p")
    try:
        strategy(probe, target)
    except Unsupported:
        return False
    finally:
        probe.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
    return True


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.__name__)
def test_two_writers_racing_for_one_name_exactly_one_wins(
    strategy: Strategy, tmp_path: Path
) -> None:
    """Each no-replace way to place a file: one winner per round, its bytes at the name."""
    if not _usable(strategy, tmp_path):
        pytest.skip(f"{strategy.__name__} is not supported on this system")
    for round_no in range(ROUNDS):
        won, lost = _race(strategy, tmp_path, round_no)
        assert len(won) == 1 and len(lost) == 1, (round_no, won, lost)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".part"))
    assert names == sorted(f"race-{n}.mp4" for n in range(ROUNDS))


def test_this_machine_uses_an_atomic_rename_that_refuses_to_replace(tmp_path: Path) -> None:
    """On Linux the first choice, renameat2(RENAME_NOREPLACE), is the one that works."""
    assert _usable(rename_noreplace, tmp_path)
    assert _usable(link_then_unlink, tmp_path)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.__name__)
def test_a_name_already_taken_is_left_alone(strategy: Strategy, tmp_path: Path) -> None:
    """Placing onto an existing file fails and leaves both that file and the download intact."""
    target, temp = tmp_path / "mine.mp4", tmp_path / ".new.part"
    target.write_bytes(b"the user's own file")
    temp.write_bytes(b"downloaded")
    with pytest.raises(FileExistsError):
        strategy(temp, target)
    assert target.read_bytes() == b"the user's own file"
    assert temp.read_bytes() == b"downloaded"  # the caller decides what to do with it


def test_overwrite_replaces_and_no_overwrite_refuses(tmp_path: Path) -> None:
    """overwrite=True replaces the target; overwrite=False refuses and keeps it."""
    target = tmp_path / "mine.mp4"
    target.write_bytes(b"old")
    for content, overwrite in ((b"new", True), (b"newer", False)):
        temp = tmp_path / f".{content.decode()}.part"
        temp.write_bytes(content)
        if overwrite:
            place(temp, target, overwrite=True)
        else:
            with pytest.raises(FileExistsError):
                place(temp, target, overwrite=False)
    assert target.read_bytes() == b"new"
    assert not (tmp_path / ".new.part").exists()


def test_the_last_resort_claims_the_name_before_replacing(tmp_path: Path) -> None:
    """claim_then_replace: a free name gets the file, whole."""
    temp, target = tmp_path / ".t.part", tmp_path / "t.mp4"
    temp.write_bytes(b"whole file")
    claim_then_replace(temp, target)
    assert target.read_bytes() == b"whole file" and not temp.exists()
