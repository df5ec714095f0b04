"""Jobs that end without a video, through the real mcp client and the emulator over loopback:
cancelled (by the provider or the dashboard; the API's cancel route itself answers 501),
failed on insufficient funds during generation, and failed with no diagnostics at all
(``error: null``). In both status vocabularies.

What the server does with them (asserted as it stands): get_video_status and wait_for_video
answer normally (not isError) with terminal true, the job's failure_kind and reason, and no
next_call; download_video refuses with an isError result naming the status and the reason,
without asking the gateway for any bytes; delete_video accepts the terminal job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import SUNRISE, call, data, text, wait_terminal

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Expect:
    status: str
    failure_kind: str
    message_start: str | None  # how failure_message starts; None: the server has no reason
    step_words: tuple[str, ...]  # words next_step must contain


OUTCOMES = {
    "cancelled": Expect("cancelled", "cancelled", "video_cancelled: ", ("cancelled",)),
    "insufficient_funds": Expect(
        "failed", "insufficient_funds", "insufficient_funds: ", ("funds", "credits")
    ),
    "unexplained": Expect("failed", "other", None, ("failed", "no reason given")),
}
CASES = [(o, v) for o in sorted(OUTCOMES) for v in ("r2", "r3")]


async def _created(client: Client) -> str:
    result = await call(client, "create_video", SUNRISE)
    assert not result.is_error, text(result)
    video_id: str = data(result)["video_id"]
    return video_id


def _check_terminal(job: dict[str, Any], expect: Expect, video_id: str) -> None:
    assert job["video_id"] == video_id
    assert job["status"] == expect.status and job["gateway_status"] == expect.status
    assert job["terminal"] is True
    assert job["failure_kind"] == expect.failure_kind
    if expect.message_start is None:
        assert job["failure_message"] is None
    else:
        assert job["failure_message"].startswith(expect.message_start)
    assert job["next_call"] is None  # nothing to wait for, and no blind re-create
    assert all(word in job["next_step"] for word in expect.step_words), job["next_step"]
    assert job["output_count"] == 0 and job["outputs"] == [] and job["asset"] is None
    assert job["cost_usd"] == 0


@pytest.mark.parametrize(("outcome", "vocabulary"), CASES)
async def test_job_without_a_video_is_terminal_and_cannot_be_downloaded(
    client: Client, emulator: EmulatorHandle, output_dir: Path, outcome: str, vocabulary: str
) -> None:
    """wait_for_video and get_video_status report the terminal outcome; download_video refuses
    in both modes without fetching bytes; list_videos finds it; delete_video accepts it."""
    expect = OUTCOMES[outcome]
    emulator.plan_next_job(JobPlan(outcome=outcome, vocabulary=vocabulary))  # type: ignore[arg-type]
    video_id = await _created(client)

    waited = await wait_terminal(client, video_id)
    _check_terminal(waited, expect, video_id)
    assert waited["budget_exhausted"] is False

    before = emulator.counters["status"]
    status = await call(client, "get_video_status", {"video_id": video_id})
    assert not status.is_error, text(status)
    _check_terminal(data(status), expect, video_id)
    assert emulator.counters["status"] == before + 1
    assert text(status).startswith(f"{video_id}: {expect.status}")

    for mode in ("file", "url"):
        refused = await call(client, "download_video", {"video_id": video_id, "mode": mode})
        assert refused.is_error
        err = data(refused)
        assert err["video_id"] == video_id and err["status"] == expect.status
        assert err["failure_kind"] == expect.failure_kind  # why there is no video, not "wait"
        assert "next_call" not in err  # not told to wait: the job is over
        message = text(refused)
        assert f"{video_id} is {expect.status} and has no video to download" in message
        assert waited["next_step"] in message  # what to do instead, as the status said
    assert emulator.counters["content"] == 0
    assert emulator.counters["signed_content"] == 0
    assert emulator.counters["download_url"] == 0
    assert list(output_dir.iterdir()) == []

    listed = await call(client, "list_videos", {"status": [expect.status]})
    assert not listed.is_error, text(listed)
    rows = {v["video_id"]: v for v in data(listed)["videos"]}
    assert rows[video_id]["status"] == expect.status

    deleted = await call(client, "delete_video", {"video_id": video_id})
    assert not deleted.is_error, text(deleted)
    assert data(deleted) == {
        "video_id": video_id,
        "deleted": True,
        "next_step": "Deleted at the gateway; local files were kept.",
        "next_call": None,
        "warning": None,
    }
    assert emulator.counters["delete"] == 1
    assert emulator.jobs[video_id].deleted_at is not None


async def test_cancelled_job_is_never_polled_again_after_it_ends(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A wait that sees 'cancelled' returns at once: a second wait polls once and stops."""
    emulator.plan_next_job(JobPlan(outcome="cancelled"))
    video_id = await _created(client)
    first = await wait_terminal(client, video_id)
    assert first["status"] == "cancelled"
    before = emulator.counters["status"]
    again = await call(client, "wait_for_video", {"video_id": video_id})
    assert not again.is_error, text(again)
    assert data(again)["terminal"] is True and data(again)["failure_kind"] == "cancelled"
    assert emulator.counters["status"] == before + 1
