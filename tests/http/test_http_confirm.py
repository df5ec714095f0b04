"""Price confirmation over HTTP: stateful and stateless, both eras, and two stateless
replicas behind nginx where the question and the answer reach different replicas."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import Replica, mcp_client, serve_phaseo
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequestParams, ElicitResult, InputRequiredResult
from test_http_replicas import TOKEN, nginx_in_front, two_replicas

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import OTHER_KEY, TEST_KEY, data, text

pytestmark = pytest.mark.anyio
ERAS = pytest.mark.parametrize("mode", ["auto", "legacy"])
API_KEY = "X-Phaseo-Api-Key"
STATE_KEY = "shared-state-key-0123456789abcdef-0123456789"
DEAR = {
    "model": "google/veo-3.1",
    "prompt": "A lighthouse in a storm, waves breaking over the rocks",
    "duration": 8,
    "resolution": "1080p",
}
ASKED = re.compile(r"price confirmation (\w+): asking the user")
ARRIVED = re.compile(r"price confirmation (\w+): the user's answer arrived")


class Host:
    """Answers every question the same way and keeps them."""

    def __init__(self, action: str = "accept") -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": True} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


async def create(url: str, mode: str, host: Host | None, args: dict[str, Any] = DEAR) -> Any:
    with anyio.fail_after(60):
        async with mcp_client(url, mode, token=TOKEN, elicitation_callback=host) as client:
            return await client.call_tool("create_video", args)


@ERAS
async def test_stateful_http_asks_and_only_an_accept_creates(
    settings: Settings, emulator: EmulatorHandle, mode: str
) -> None:
    """Stateful HTTP (a server request on 2025 sessions, input_required on 2026): accept →
    one POST; decline → none and the declined result."""
    yes, no = Host("accept"), Host("decline")
    async with serve_phaseo(settings, tokens=[TOKEN]) as served:
        made = await create(served.url, mode, yes)
        declined = await create(served.url, mode, no, {**DEAR, "duration": 6})
    assert not made.is_error, text(made)
    assert data(declined)["failure_kind"] == "declined"
    assert len(yes.questions) == 1 and len(no.questions) == 1
    assert emulator.counters["create"] == 1


@pytest.mark.parametrize("required", [False, True], ids=["default", "required"])
async def test_a_2025_client_over_stateless_http_is_never_asked(
    settings: Settings, emulator: EmulatorHandle, required: bool
) -> None:
    """A 2025-era request over stateless HTTP has no back channel: no dialog even though the
    client declared elicitation; it creates by default and is refused when required."""
    host = Host("accept")
    strict = settings.model_copy(update={"require_confirmation": required})
    async with serve_phaseo(strict, stateless=True, tokens=[TOKEN]) as served:
        result = await create(served.url, "legacy", host)
    assert host.questions == []
    if required:
        assert data(result)["failure_kind"] == "confirmation_unavailable"
        assert "2025-era request over stateless HTTP" in text(result)
        assert emulator.counters["create"] == 0
    else:
        assert not result.is_error, text(result)
        assert emulator.counters["create"] == 1


async def test_stateless_http_without_shared_keys_never_asks(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Without PHASEO_MCP_STATE_KEYS a stateless server cannot trust an answer another
    replica sealed, so it does not ask (and says why when confirmation is required)."""
    host = Host("accept")
    strict = settings.model_copy(update={"require_confirmation": True})
    async with serve_phaseo(strict, stateless=True, tokens=[TOKEN]) as served:
        result = await create(served.url, "auto", host)
    assert host.questions == []
    assert data(result)["failure_kind"] == "confirmation_unavailable"
    assert "PHASEO_MCP_STATE_KEYS" in text(result)
    assert emulator.counters["create"] == 0


def _asked(replica: Replica) -> list[str]:
    return ASKED.findall(replica.output())


def _answered(replica: Replica) -> list[str]:
    return re.findall(r"price confirmation answered: (\w+)", replica.output())


async def test_two_stateless_replicas_question_on_one_answer_on_the_other(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Through nginx's round robin, the 2026 question (input_required) comes from one
    replica and the answer is handled by the other, both sealing with the shared
    PHASEO_MCP_STATE_KEYS: accept → exactly one POST; decline → none; the identical retry
    after the accept is not asked again and is answered by the duplicate guard."""
    extra = {"PHASEO_MCP_STATE_KEYS": STATE_KEY}
    yes, no = Host("accept"), Host("decline")
    async with two_replicas(emulator, tmp_path, fresh_postgres_url, extra) as (a, b):
        with nginx_in_front(tmp_path, (a, b)) as front:
            url = front + "/mcp"
            made = await create(url, "auto", yes)
            retry = await create(url, "auto", yes)
            declined = await create(url, "auto", no, {**DEAR, "duration": 6})
            legacy = await create(url, "legacy", no, {**DEAR, "duration": 4})
        logs = {"a": a.output(), "b": b.output()}
        asked = {"a": _asked(a), "b": _asked(b)}
        arrived = {"a": ARRIVED.findall(logs["a"]), "b": ARRIVED.findall(logs["b"])}
        answered = {"a": _answered(a), "b": _answered(b)}
    assert not made.is_error, text(made)
    assert data(retry)["failure_kind"] == "duplicate"
    assert data(retry)["video_id"] == data(made)["video_id"]
    assert data(declined)["failure_kind"] == "declined"
    assert not legacy.is_error, text(legacy)  # 2025 era, stateless: created, never asked
    assert len(yes.questions) == 1 and len(no.questions) == 1
    assert emulator.counters["create"] == 2  # the accepted one and the 2025-era one
    # Each of the two questions was asked by one replica and its answer handled by the
    # other (round robin alternates; the shared keys open the state on either replica).
    assert len(asked["a"]) + len(asked["b"]) == 2
    for here, there in (("a", "b"), ("b", "a")):
        for tag in asked[here]:
            assert tag in arrived[there] and tag not in arrived[here], logs
    assert sorted(answered["a"] + answered["b"]) == ["accept", "decline"]
    assert STATE_KEY not in logs["a"] + logs["b"]
    assert "Invalid or expired requestState" not in logs["a"] + logs["b"]


async def test_an_answer_sealed_for_one_caller_is_refused_for_another(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Under --multi-user the question's state is bound to the caller's key: another caller
    replaying it (same token, same arguments, an accept) gets the requestState error and
    nothing is created."""
    host = Host("accept")
    async with serve_phaseo(settings, multi_user=True, tokens=[TOKEN]) as served:
        with anyio.fail_after(60):
            async with mcp_client(
                served.url,
                "auto",
                token=TOKEN,
                headers={API_KEY: TEST_KEY},
                elicitation_callback=host,
            ) as owner:
                asked = await owner.session.call_tool(
                    "create_video", DEAR, allow_input_required=True
                )
            assert isinstance(asked, InputRequiredResult), asked
            (key,) = asked.input_requests
            answer = {key: ElicitResult(action="accept", content={"confirm": True})}
            async with mcp_client(
                served.url,
                "auto",
                token=TOKEN,
                headers={API_KEY: OTHER_KEY},
                elicitation_callback=host,
            ) as other:
                with pytest.raises(MCPError) as caught:
                    await other.call_tool(
                        "create_video",
                        DEAR,
                        input_responses=answer,
                        request_state=asked.request_state,
                    )
    assert "Invalid or expired requestState" in str(caught.value)
    assert emulator.counters["create"] == 0
