"""Price confirmation through elicitation: the person is asked before a paid create, in
both protocol eras (in process and over stdio), and nothing is sent unless they accept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequestParams, ElicitResult, InputRequiredResult

from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.server.app import build_server

from helpers import TEST_KEY, data, make_settings, stdio_params, text

pytestmark = pytest.mark.anyio
ERAS = pytest.mark.parametrize("mode", ["auto", "legacy"])
WEBHOOK_SECRET = "whsec_confirmtest_0123456789abcdef"
# $0.40 × 8 s × 2 outputs = $6.40: above the default threshold.
DEAR = {
    "model": "google/veo-3.1",
    "prompt": "A slow aerial shot over a misty pine forest at dawn, birds rising from the trees",
    "duration": 8,
    "resolution": "1080p",
    "sample_count": 2,
    "webhook": {"url": "https://hooks.example.com/phaseo", "secret": WEBHOOK_SECRET},
}
CHEAP = {"model": "google/veo-3.1-lite", "prompt": "sunrise over a lake", "duration": 4}


class Host:
    """An elicitation callback that answers as told and keeps every question it was shown."""

    def __init__(self, action: str = "accept", content: dict[str, Any] | None = None) -> None:
        self.action = action
        self.content = {"confirm": True} if content is None and action == "accept" else content
        self.questions: list[ElicitRequestParams] = []

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        self.questions.append(params)
        return ElicitResult(action=self.action, content=self.content)  # type: ignore[arg-type]


@asynccontextmanager
async def connected(
    emulator: EmulatorHandle,
    tmp_path: Path,
    mode: str,
    host: Host | None,
    **settings: Any,
) -> AsyncIterator[Client]:
    values = make_settings(emulator.base_url, tmp_path / "out", tmp_path / "state", **settings)
    callback = {"elicitation_callback": host} if host is not None else {}
    async with Client(build_server(values), mode=mode, **callback) as client:
        yield client


def creates(emulator: EmulatorHandle) -> int:
    return int(emulator.counters["create"])


@ERAS
async def test_accepting_the_price_creates_exactly_one_job(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """Accept with the box ticked: one dialog, then exactly one POST and a normal result."""
    host = Host("accept")
    async with connected(emulator, tmp_path, mode, host) as client:
        result = await client.call_tool("create_video", DEAR)
    assert not result.is_error, text(result)
    assert len(host.questions) == 1
    assert creates(emulator) == 1
    assert data(result)["estimated_cost_usd"] == pytest.approx(6.40)


@ERAS
@pytest.mark.parametrize(
    ("action", "content", "said"),
    [
        ("decline", None, "declined"),
        ("cancel", None, "cancelled"),
        ("accept", {"confirm": False}, "without ticking its box"),
    ],
)
async def test_declining_sends_nothing_and_says_so(
    emulator: EmulatorHandle,
    tmp_path: Path,
    mode: str,
    action: str,
    content: dict[str, Any] | None,
    said: str,
) -> None:
    """Decline, cancel, or accept unticked: zero POSTs, an isError result with failure_kind
    "declined" and no next_call (nothing suggests trying again)."""
    host = Host(action, content)
    async with connected(emulator, tmp_path, mode, host) as client:
        result = await client.call_tool("create_video", DEAR)
        listed = await client.call_tool("list_videos", {})
    assert result.is_error
    body = data(result)
    assert body["failure_kind"] == "declined"
    assert body.get("next_call") is None
    assert said in text(result) and "nothing was billed" in text(result)
    assert len(host.questions) == 1
    assert creates(emulator) == 0
    assert data(listed)["videos"] == []  # no journal row either


@ERAS
async def test_the_question_names_model_price_and_prompt_but_no_secret(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """The dialog text has the model, size, outputs, estimate and the prompt's first words;
    never the API key or the webhook secret; its form is one boolean box."""
    host = Host("decline")
    async with connected(emulator, tmp_path, mode, host) as client:
        await client.call_tool("create_video", DEAR)
    (question,) = host.questions
    message = question.message
    assert "google/veo-3.1" in message and "$6.40" in message
    assert "8 s 1080p" in message and "2 outputs" in message
    assert "A slow aerial shot over a misty pine forest" in message
    assert TEST_KEY not in message and WEBHOOK_SECRET not in message
    assert "whsec_" not in str(question.model_dump()) and TEST_KEY not in str(question.model_dump())
    schema = question.requested_schema  # type: ignore[union-attr]
    assert schema["properties"]["confirm"]["type"] == "boolean"
    assert list(schema["properties"]) == ["confirm"]


async def test_a_key_pasted_into_the_prompt_is_redacted_in_the_question(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Even a prompt that holds the API key or the webhook secret never shows them."""
    host = Host("decline")
    prompt = f"a banner reading {TEST_KEY} and {WEBHOOK_SECRET}"
    async with connected(emulator, tmp_path, "auto", host) as client:
        await client.call_tool("create_video", {**DEAR, "prompt": prompt})
    (question,) = host.questions
    assert "a banner reading" in question.message
    assert TEST_KEY not in question.message and WEBHOOK_SECRET not in question.message
    assert creates(emulator) == 0


@ERAS
async def test_a_job_below_the_threshold_is_not_asked_about(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """$0.20 is under the default $0.50: no dialog, one POST."""
    host = Host("decline")
    async with connected(emulator, tmp_path, mode, host) as client:
        result = await client.call_tool("create_video", CHEAP)
    assert not result.is_error, text(result)
    assert host.questions == [] and creates(emulator) == 1


async def test_threshold_zero_asks_for_every_priced_job_and_off_never(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """PHASEO_CONFIRM_ABOVE_USD=0 asks even for $0.20; off never asks, even for $6.40."""
    host = Host("decline")
    async with connected(emulator, tmp_path / "zero", "auto", host, confirm_above_usd=0) as c:
        zero = await c.call_tool("create_video", CHEAP)
    off_host = Host("decline")
    async with connected(emulator, tmp_path / "off", "auto", off_host, confirm_above_usd=None) as c:
        off = await c.call_tool("create_video", DEAR)
    assert data(zero)["failure_kind"] == "declined" and len(host.questions) == 1
    assert not off.is_error and off_host.questions == []
    assert creates(emulator) == 1


async def test_the_cost_ceiling_refuses_before_any_question(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """PHASEO_MAX_COST_USD applies first: over it, no dialog, the over_budget refusal."""
    host = Host("accept")
    async with connected(emulator, tmp_path, "auto", host, max_cost_usd=5.0) as client:
        result = await client.call_tool("create_video", DEAR)
    assert data(result)["failure_kind"] == "over_budget"
    assert host.questions == [] and creates(emulator) == 0


async def test_an_unpriced_create_asks_saying_the_price_is_unknown(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """No catalogue: the question says the price is unknown; accepting creates the job."""
    emulator.faults.add(route="models", kind="http", status=503, count=50)
    host = Host("accept")
    async with connected(emulator, tmp_path, "auto", host) as client:
        result = await client.call_tool("create_video", CHEAP)
    assert not result.is_error, text(result)
    (question,) = host.questions
    assert "unknown price" in question.message and "catalogue is unavailable" in question.message
    assert creates(emulator) == 1


@ERAS
async def test_identical_retry_after_accept_is_answered_by_the_duplicate_guard(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """A retry of the same request by the same owner: no second dialog, no second job; the
    duplicate guard answers with the first job. allow_duplicate asks again."""
    host = Host("accept")
    async with connected(emulator, tmp_path, mode, host) as client:
        first = await client.call_tool("create_video", DEAR)
        again = await client.call_tool("create_video", DEAR)
        changed = await client.call_tool("create_video", {**DEAR, "duration": 6})
        host.action, host.content = "decline", None
        copy = await client.call_tool("create_video", {**DEAR, "allow_duplicate": True})
    assert not first.is_error, text(first)
    assert data(again)["failure_kind"] == "duplicate"
    assert data(again)["video_id"] == data(first)["video_id"]
    assert not changed.is_error, text(changed)
    assert data(copy)["failure_kind"] == "declined"
    assert len(host.questions) == 3  # first, changed, allow_duplicate: never the retry
    assert creates(emulator) == 2


@ERAS
async def test_a_host_without_elicitation_creates_unless_confirmation_is_required(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """No elicitation capability: the create proceeds (its result carries the estimate);
    under PHASEO_REQUIRE_CONFIRMATION it is refused, unsent, saying what to change."""
    async with connected(emulator, tmp_path / "default", mode, None) as client:
        made = await client.call_tool("create_video", DEAR)
    async with connected(
        emulator, tmp_path / "required", mode, None, require_confirmation=True
    ) as client:
        refused = await client.call_tool("create_video", DEAR)
    assert not made.is_error, text(made)
    assert data(made)["estimated_cost_usd"] == pytest.approx(6.40)
    body = data(refused)
    assert body["failure_kind"] == "confirmation_unavailable"
    assert "cannot show a dialog" in text(refused)
    assert "PHASEO_REQUIRE_CONFIRMATION" in text(refused)
    assert creates(emulator) == 1


@pytest.mark.parametrize("tamper", ["flip", "garbage"])
async def test_tampered_request_state_is_refused_and_sends_nothing(
    emulator: EmulatorHandle, tmp_path: Path, tamper: str
) -> None:
    """A 2026 client that echoes a modified or made-up requestState gets the SDK's clear
    "Invalid or expired requestState" error; no job is created."""
    host = Host("accept")
    async with connected(emulator, tmp_path, "auto", host) as client:
        first = await client.session.call_tool("create_video", DEAR, allow_input_required=True)
        assert isinstance(first, InputRequiredResult), first
        state = first.request_state or ""
        bad = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
        if tamper == "garbage":
            bad = "v1.not-a-sealed-state"
        (key,) = first.input_requests
        answer = {key: ElicitResult(action="accept", content={"confirm": True})}
        with pytest.raises(MCPError) as caught:
            await client.call_tool("create_video", DEAR, input_responses=answer, request_state=bad)
    assert "Invalid or expired requestState" in str(caught.value)
    assert creates(emulator) == 0


async def test_the_answer_counts_only_for_the_request_it_was_asked_about(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """An accepted state replayed with other arguments (a dearer request) is refused."""
    host = Host("accept")
    async with connected(emulator, tmp_path, "auto", host) as client:
        first = await client.session.call_tool("create_video", DEAR, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        (key,) = first.input_requests
        answer = {key: ElicitResult(action="accept", content={"confirm": True})}
        with pytest.raises(MCPError) as caught:
            await client.call_tool(
                "create_video",
                {**DEAR, "sample_count": 4},
                input_responses=answer,
                request_state=first.request_state,
            )
    assert "requestState" in str(caught.value)
    assert creates(emulator) == 0


@ERAS
async def test_over_stdio_accept_creates_once_and_decline_sends_nothing(
    emulator: EmulatorHandle, tmp_path: Path, mode: str
) -> None:
    """The same over a stdio subprocess: accept → one POST; decline → none."""
    params = stdio_params(emulator.base_url, tmp_path / "out", tmp_path / "state")
    yes, no = Host("accept"), Host("decline")
    async with Client(params, mode=mode, elicitation_callback=yes) as client:
        made = await client.call_tool("create_video", DEAR)
    async with Client(params, mode=mode, elicitation_callback=no) as client:
        refused = await client.call_tool("create_video", {**DEAR, "duration": 6})
    assert not made.is_error, text(made)
    assert data(refused)["failure_kind"] == "declined"
    assert len(yes.questions) == 1 and len(no.questions) == 1
    assert creates(emulator) == 1


async def test_the_tool_description_states_the_effective_rule(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """create_video's description tells the model the rule the server applies."""
    async with connected(emulator, tmp_path / "d", "auto", None) as client:
        default = {t.name: t for t in (await client.list_tools()).tools}["create_video"]
    async with connected(
        emulator, tmp_path / "o", "auto", None, confirm_above_usd=2.5, require_confirmation=True
    ) as client:
        strict = {t.name: t for t in (await client.list_tools()).tools}["create_video"]
    assert "The user is asked to OK prices >= $0.50 first." in (default.description or "")
    assert "OK prices >= $2.50 first" in (strict.description or "")
    assert "(no dialog: refused)" in (strict.description or "")
    assert "confirmation" not in str(default.input_schema)  # filled by the server, not the model
