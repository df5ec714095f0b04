"""jobs/create.py against the emulator and a real SQLite journal: one POST per request, the
duplicate guard, and what the journal keeps for each outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.errors import GatewayError, OutcomeUnknown
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.jobs.create import CreateOutcome, create_job
from phaseo_mcp.jobs.journal import Journal
from phaseo_mcp.jobs.journal_open import open_journal

pytestmark = pytest.mark.anyio
KEY_FP = "key-fingerprint"
REQUEST = CreateVideoRequest.model_validate({"model": "openai/sora-2", "prompt": "a red kite"})


@pytest.fixture
def journal(state_dir: Path) -> Iterator[Journal]:
    """A SQLite journal in the test's state folder."""
    opened = open_journal(journal_url=None, state_dir=state_dir)
    yield opened
    opened.close()


async def _create(
    gateway: GatewayClient, journal: Journal, *, allow_duplicate: bool = False
) -> CreateOutcome:
    return await create_job(
        gateway,
        journal,
        REQUEST,
        key_fp=KEY_FP,
        window_seconds=600,
        allow_duplicate=allow_duplicate,
    )


async def test_a_create_is_posted_once_and_recorded_with_its_id(
    gateway: GatewayClient, journal: Journal, emulator: EmulatorHandle
) -> None:
    """One POST; the journal's row gets the gateway's id and status."""
    outcome = await _create(gateway, journal)
    assert outcome.job is not None and outcome.journal_error is None
    record = journal.get(KEY_FP, outcome.job.video_id)
    assert record is not None and record.state == "created" and record.row_id == outcome.row_id
    assert record.status == outcome.job.status and record.prompt == "a red kite"
    assert emulator.counters["create"] == 1


async def test_the_same_request_again_is_a_duplicate_unless_allowed(
    gateway: GatewayClient, journal: Journal, emulator: EmulatorHandle
) -> None:
    """Within the window the same request returns the first job unsent; allowed, it is sent."""
    first = await _create(gateway, journal)
    again = await _create(gateway, journal)
    assert again.job is None and again.duplicate_of is not None and first.job is not None
    assert again.duplicate_of.video_id == first.job.video_id
    assert emulator.counters["create"] == 1
    forced = await _create(gateway, journal, allow_duplicate=True)
    assert forced.job is not None and forced.job.video_id != first.job.video_id
    assert emulator.counters["create"] == 2


async def test_a_refused_create_releases_the_guard(
    gateway: GatewayClient, journal: Journal, emulator: EmulatorHandle
) -> None:
    """A refusal is raised as it came, its row is rejected, and the same request may go again."""
    emulator.faults.add("create", "http", status=402)
    with pytest.raises(GatewayError) as caught:
        await _create(gateway, journal)
    assert caught.value.failure_kind == "insufficient_funds"
    assert [r.state for r in journal.list_jobs(KEY_FP)] == ["rejected"]
    assert (await _create(gateway, journal)).job is not None
    assert emulator.counters["create"] == 2


async def test_an_unanswered_create_keeps_its_guard(
    gateway: GatewayClient, journal: Journal, emulator: EmulatorHandle
) -> None:
    """A create whose answer was lost is outcome unknown and guards against a second POST."""
    emulator.faults.add("create", "create_then_drop")
    with pytest.raises(OutcomeUnknown):
        await _create(gateway, journal)
    assert [r.state for r in journal.list_jobs(KEY_FP)] == ["outcome_unknown"]
    again = await _create(gateway, journal)
    assert again.job is None and again.duplicate_of is not None
    assert again.duplicate_of.state == "outcome_unknown"
    assert emulator.counters["create"] == 1 and len(emulator.jobs) == 1


async def test_the_webhook_secret_is_sent_but_never_journalled(
    gateway: GatewayClient, journal: Journal, emulator: EmulatorHandle
) -> None:
    """The gateway gets the webhook secret; the journal's copy of the request has none."""
    secret = "whsec_do-not-store-me"
    request = CreateVideoRequest.model_validate(
        {
            "model": "openai/sora-2",
            "prompt": "x",
            "webhook": {"url": "https://e.com/h", "secret": secret},
        }
    )
    outcome = await create_job(
        gateway, journal, request, key_fp=KEY_FP, window_seconds=600, allow_duplicate=False
    )
    assert outcome.job is not None
    assert emulator.received["create"][0]["webhook"]["secret"] == secret
    record = journal.get(KEY_FP, outcome.job.video_id)
    assert record is not None and secret not in record.model_dump_json()
