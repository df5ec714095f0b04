"""An unlucky journal (locked by another process, corrupt) and creates whose answer was lost,
through the real mcp client: the gateway's answer is never hidden, every job the gateway made
is found by list_videos, and an unanswered create is linked only to a job that clearly
matches it, as a probable match."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.jobs.fingerprint import key_fingerprint
from phaseo_mcp.jobs.journal_open import open_journal
from phaseo_mcp.server.app import build_server

from helpers import SUNRISE, TEST_KEY, call, damage_journal, data, make_settings, text

pytestmark = pytest.mark.anyio
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "lock":
        conn.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
    elif line.strip() == "unlock":
        conn.execute("ROLLBACK")
        print("unlocked", flush=True)
"""


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Real time at the gateway: its creation times stay comparable with the journal's."""
    return EmulatorConfig(time_scale=1.0)


@pytest.fixture
async def client(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> AsyncIterator[Client]:
    # a held create answer takes real seconds: the read timeout must outlast it
    settings = make_settings(emulator.base_url, output_dir, state_dir, read_timeout_seconds=6000)
    async with Client(build_server(settings)) as c:
        yield c


class Locker:
    """A second process that holds ``BEGIN EXCLUSIVE`` on the journal file on demand."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    async def send(self, command: str, answer: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        with anyio.fail_after(30):
            assert await anyio.to_thread.run_sync(self._read) == answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def locker(state_dir: Path) -> Iterator[Callable[[], Locker]]:
    made: list[Locker] = []

    def start() -> Locker:
        made.append(Locker(state_dir / "journal.sqlite3"))
        return made[-1]

    yield start
    for one in made:
        one.close()


def assert_errors_have_a_kind(*results: CallToolResult) -> None:
    for result in results:
        if result.is_error:
            assert data(result).get("failure_kind"), text(result)


def listed_ids(listing: CallToolResult) -> set[str]:
    return {v["video_id"] for v in data(listing)["videos"] if v["video_id"]}


def journal_rows(state_dir: Path) -> list[Any]:
    journal = open_journal(journal_url=None, state_dir=state_dir)
    try:
        return journal.list_jobs(key_fingerprint(TEST_KEY), limit=100)
    finally:
        journal.close()


async def made_directly(emulator: EmulatorHandle, **fields: Any) -> str:
    """A job created at the gateway by someone else with the same key (plain HTTP)."""
    body = {**SUNRISE, **fields}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{emulator.base_url}/videos",
            json=body,
            headers={"Authorization": f"Bearer {TEST_KEY}"},
        )
    response.raise_for_status()
    return str(response.json()["id"])


async def test_a_locked_journal_never_hides_a_create_the_gateway_made(
    client: Client, emulator: EmulatorHandle, state_dir: Path, locker: Callable[[], Locker]
) -> None:
    """The journal is locked by another process between the create's claim and its answer:
    the result is the job (id, status) with a warning; status and list_videos still answer
    while it stays locked; once free, a repeat of the create is refused naming that job,
    and the next status read records the job for certain."""
    first = await call(client, "create_video", SUNRISE)
    assert not first.is_error and data(first).get("warning") is None
    held = locker()
    emulator.faults.add("create", "slow", delay=5.0, hold_answer=True)
    outcome: dict[str, CallToolResult] = {}

    async def create() -> None:
        outcome["create"] = await call(client, "create_video", {**SUNRISE, "duration": 4})

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(create)
            while len(emulator.jobs) < 2:  # the gateway made the job; its answer is held
                await anyio.sleep(0.01)
            await held.send("lock", "locked")
    created = outcome["create"]
    assert not created.is_error, text(created)
    video_id = data(created)["video_id"]
    assert video_id in emulator.jobs and data(created)["status"]
    assert "locked" in data(created)["warning"] and "Warning:" in text(created)

    status = await call(client, "get_video_status", {"video_id": video_id})
    assert not status.is_error and data(status)["warning"], text(status)
    listing = await call(client, "list_videos", {})
    assert not listing.is_error and data(listing)["warning"]
    assert listed_ids(listing) == set(emulator.jobs)
    assert all(v["video_id"] for v in data(listing)["videos"])  # no id-less stray intent
    refused = await call(client, "create_video", {**SUNRISE, "duration": 6})
    assert refused.is_error and data(refused)["failure_kind"] == "unavailable"
    assert "Nothing was sent" in text(refused) and len(emulator.jobs) == 2
    assert_errors_have_a_kind(first, created, status, listing, refused)

    await held.send("unlock", "unlocked")
    duplicate = await call(client, "create_video", {**SUNRISE, "duration": 4})
    assert duplicate.is_error and data(duplicate)["failure_kind"] == "duplicate"
    assert data(duplicate)["video_id"] == video_id and len(emulator.jobs) == 2
    again = await call(client, "get_video_status", {"video_id": video_id})
    assert not again.is_error and data(again).get("warning") is None
    rows = {r.video_id: r for r in journal_rows(state_dir)}
    assert set(rows) == set(emulator.jobs)  # the intent row got its id: no stray row
    assert rows[video_id].state == "created" and rows[video_id].status == data(again)["status"]


@pytest.mark.parametrize("how", ["random-bytes", "truncated"])
async def test_a_corrupt_journal_refuses_creates_but_still_answers_reads(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, how: str
) -> None:
    """Random bytes or a truncated file as the journal: create is refused unsent (naming the
    file, the word corrupt and `journal check`); a status read and list_videos answer from
    the gateway with a warning; the file is left as it was."""
    path = damage_journal(state_dir, how)
    junk = path.read_bytes()
    video_id = await made_directly(emulator)
    async with Client(build_server(make_settings(emulator.base_url, output_dir, state_dir))) as c:
        created = await call(c, "create_video", SUNRISE)
        status = await call(c, "get_video_status", {"video_id": video_id})
        listing = await call(c, "list_videos", {})
    assert created.is_error and data(created)["failure_kind"] == "config"
    message = text(created)
    assert str(path) in message and "corrupt" in message and "journal check" in message
    assert emulator.counters["create"] == 1  # only the direct one
    assert not status.is_error and "corrupt" in data(status)["warning"]
    assert not listing.is_error and video_id in listed_ids(listing)
    assert path.read_bytes() == junk


async def test_a_lost_create_answer_is_linked_to_the_one_matching_job_as_probable(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The create's answer is dropped after the gateway made the job, and another job with a
    different duration appears: list_videos links only the matching one, says it is a
    probable match and why; the duplicate guard then says "probably", never certainly."""
    emulator.faults.add("create", "create_then_drop")
    lost = await call(client, "create_video", SUNRISE)
    assert lost.is_error and data(lost)["failure_kind"] == "outcome_unknown"
    (made,) = emulator.jobs
    other = await made_directly(emulator, duration=4)
    listing = data(await call(client, "list_videos", {}))
    rows = {v["video_id"]: v for v in listing["videos"]}
    assert set(rows) == {made, other}
    assert rows[made]["probable_match"] and "duration" in rows[made]["match_reason"]
    assert "Probable match" in rows[made]["note"] and not rows[other]["probable_match"]
    again = await call(client, "create_video", SUNRISE)
    assert again.is_error and data(again)["failure_kind"] == "duplicate"
    assert "probably" in text(again) and data(again)["video_id"] == made
    assert "not confirmed" in text(again)
    assert len(emulator.jobs) == 2


async def test_a_lost_create_with_two_matching_jobs_links_neither(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The connection drops before the gateway makes anything, and two identical jobs appear
    at the gateway: neither is linked; the intent lists both as candidates; both are found."""
    emulator.faults.add("create", "drop")
    lost = await call(client, "create_video", SUNRISE)
    assert lost.is_error and data(lost)["failure_kind"] == "outcome_unknown"
    assert not emulator.jobs
    twins = {await made_directly(emulator), await made_directly(emulator)}
    listing = await call(client, "list_videos", {})
    videos = data(listing)["videos"]
    (intent,) = [v for v in videos if v["video_id"] is None]
    assert set(intent["candidates"]) == twins and "none was linked" in intent["note"]
    assert listed_ids(listing) == twins
    assert not any(v["probable_match"] for v in videos)
    again = await call(client, "create_video", SUNRISE)
    assert again.is_error and data(again)["failure_kind"] == "duplicate"
    assert data(again).get("video_id") is None  # no job presented as the one it made


async def test_a_lost_create_with_only_a_different_job_is_not_linked(
    client: Client, emulator: EmulatorHandle
) -> None:
    """Only a job with another duration and size appears: the intent stays unlinked, with no
    candidates, and that job is listed on its own."""
    emulator.faults.add("create", "drop")
    await call(client, "create_video", {**SUNRISE, "resolution": "720p"})
    other = await made_directly(emulator, duration=4, resolution="1080p")
    listing = data(await call(client, "list_videos", {}))
    (intent,) = [v for v in listing["videos"] if v["video_id"] is None]
    assert intent["candidates"] is None and "not listed a matching job" in intent["note"]
    assert [v["video_id"] for v in listing["videos"] if v["video_id"]] == [other]


async def test_a_download_saved_while_the_journal_is_locked_is_reported_saved(
    client: Client, emulator: EmulatorHandle, locker: Callable[[], Locker]
) -> None:
    """The journal is locked by another process: the verified file is still reported saved,
    with its real size and sha256, plus a warning."""
    video_id = data(await call(client, "create_video", SUNRISE))["video_id"]
    emulator.clock.advance(10_000)
    held = locker()
    await held.send("lock", "locked")
    result = await call(client, "download_video", {"video_id": video_id})
    assert not result.is_error, text(result)
    (saved,) = data(result)["files"]
    body = Path(saved["path"]).read_bytes()
    assert len(body) == saved["bytes"] and hashlib.sha256(body).hexdigest() == saved["sha256"]
    assert "locked" in data(result)["warning"] and "Warning:" in text(result)
    await held.send("unlock", "unlocked")
