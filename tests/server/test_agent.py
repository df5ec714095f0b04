"""A scripted agent that only uses what the tools tell it: models from list_video_models,
then nothing but next_call. It must reach a file in at most 4 calls on the happy path and
stop correctly on every other path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import ElicitResult

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.app import build_server

from helpers import SUNRISE, call, data, make_settings, text

pytestmark = pytest.mark.anyio
REQUEST = {"seconds": 8, "ratio": "16:9", "prompt": "a sunrise over a lake"}


async def run_agent(client: Client, request: dict[str, Any]) -> list[tuple[str, dict, bool]]:
    """Returns the (tool, structured result, is_error) of each call made."""
    calls: list[tuple[str, dict, bool]] = []
    models = await call(client, "list_video_models", {})
    calls.append(("list_video_models", data(models), models.is_error))
    choice = next(
        m
        for m in data(models)["models"]
        if (m["durations"] is None or request["seconds"] in m["durations"])
        and (m["aspect_ratios"] is None or request["ratio"] in m["aspect_ratios"])
    )
    step: dict[str, Any] | None = {
        "tool": "create_video",
        "arguments": {
            "model": choice["id"],
            "prompt": request["prompt"],
            "duration": request["seconds"],
            "aspect_ratio": request["ratio"],
            **request.get("extra", {}),
        },
    }
    while step is not None and len(calls) < 12:
        result = await call(client, step["tool"], step["arguments"])
        body = data(result)
        calls.append((step["tool"], body, bool(result.is_error)))
        if step["tool"] == "download_video" and not result.is_error:
            break
        step = body.get("next_call")
    return calls


def assert_four_calls_to_a_saved_video(
    calls: list[tuple[str, dict, bool]], output_dir: Path
) -> None:
    """List, create, wait, download; the last saved an MP4 in the output folder."""
    assert [c[0] for c in calls] == [
        "list_video_models",
        "create_video",
        "wait_for_video",
        "download_video",
    ]
    path = Path(calls[-1][1]["files"][0]["path"])
    assert path.parent == output_dir and path.read_bytes()[4:8] == b"ftyp"


async def test_happy_path_takes_four_calls(client: Client, output_dir: Path) -> None:
    """A scripted agent gets a saved video in four calls: list, create, wait, download."""
    calls = await run_agent(client, REQUEST)
    assert_four_calls_to_a_saved_video(calls, output_dir)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_happy_path_takes_four_calls_with_a_host_that_accepts_the_price(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, mode: str
) -> None:
    """With every priced create confirmed (threshold 0), a host whose person accepts still
    reaches the saved file in 4 calls; the one dialog is not a call and makes one job."""
    asked: list[str] = []

    async def accept(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    settings = make_settings(emulator.base_url, output_dir, state_dir, confirm_above_usd=0)
    async with Client(build_server(settings), mode=mode, elicitation_callback=accept) as client:
        calls = await run_agent(client, REQUEST)
    assert_four_calls_to_a_saved_video(calls, output_dir)
    assert len(asked) == 1 and emulator.counters["create"] == 1


async def test_job_outliving_one_wait_budget_needs_one_more_wait(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A job longer than one wait budget needs one more wait, then downloads."""
    emulator.plan_next_job(JobPlan(seconds=80))
    calls = await run_agent(client, REQUEST)
    tools = [c[0] for c in calls]
    assert tools[:2] == ["list_video_models", "create_video"]
    assert tools.count("wait_for_video") >= 2 and tools[-1] == "download_video"
    assert calls[2][1]["budget_exhausted"] is True and not calls[-1][2]


async def test_failed_job_stops_with_the_reason(client: Client, emulator: EmulatorHandle) -> None:
    """A failed job ends the agent's run with its failure kind and no retry of the create."""
    emulator.plan_next_job(JobPlan(outcome="provider_error"))
    calls = await run_agent(client, REQUEST)
    last_tool, last, _ = calls[-1]
    assert last_tool == "wait_for_video" and last["status"] == "failed"
    assert last["failure_kind"] == "provider_error" and last["next_call"] is None
    assert emulator.counters["create"] == 1


async def test_guardrail_refusal_stops_without_retrying(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A content refusal on create stops the agent after one create, with content_refused."""
    emulator.faults.add(route="create", kind="http", status=403)
    calls = await run_agent(client, REQUEST)
    assert [c[0] for c in calls] == ["list_video_models", "create_video"]
    assert calls[-1][2] and calls[-1][1]["failure_kind"] == "content_refused"
    assert emulator.counters["create"] == 1


async def test_unsupported_parameter_is_refused_with_allowed_values(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An unsupported duration is refused locally, naming the allowed values and what to call."""
    models = data(await call(client, "list_video_models", {}))["models"]
    model = next(m for m in models if m["durations"] and 5 not in m["durations"])
    result = await call(
        client, "create_video", {"model": model["id"], "prompt": "x", "duration": 5}
    )
    assert result.is_error
    for allowed in model["durations"]:
        assert str(allowed) in text(result)
    assert data(result)["next_call"]["tool"] == "list_video_models"
    assert emulator.counters["create"] == 0


async def test_create_over_the_cost_ceiling_is_refused_with_the_estimate(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A create over the cost ceiling is refused with the estimate and the setting to change."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, max_cost_usd=0.01)
    async with Client(build_server(settings)) as client:
        calls = await run_agent(client, REQUEST)
    creates = [c for c in calls if c[0] == "create_video"]
    assert len(creates) == 1 and creates[0][2]
    assert creates[0][1]["failure_kind"] == "over_budget"
    assert "$" in creates[0][1]["error"] and "PHASEO_MAX_COST_USD" in creates[0][1]["error"]
    assert calls[-1][1].get("next_call") is None  # the agent comes to rest
    assert emulator.counters["create"] == 0


async def test_cost_ceiling_fails_closed_when_the_cost_cannot_be_estimated(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """With a limit set and no catalogue to price the video, nothing is sent."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, max_cost_usd=100.0)
    emulator.faults.add(route="models", kind="http", status=503, count=50)
    async with Client(build_server(settings)) as client:
        refused = await call(client, "create_video", SUNRISE)
    assert refused.is_error
    assert data(refused)["failure_kind"] == "over_budget"
    assert "cannot be estimated" in text(refused) and "PHASEO_MAX_COST_USD" in text(refused)
    assert emulator.counters["create"] == 0 and emulator.counters["models"] >= 1
