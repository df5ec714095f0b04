"""The Tasks extension in process and over stdio: create_video becomes a task for clients that
declare the extension, and only for them; tasks/get paces the gateway and downloads once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import anyio
import jsonschema
import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp_types import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    ElicitResult,
)
from pydantic import BaseModel
from taskclient import (
    TASKS,
    TaskClient,
    cancel_task,
    follow_until_done,
    get_task,
    start_task,
    task_client,
)

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, JobPlan, running_emulator
from phaseo_mcp.server.app import build_server
from phaseo_mcp.server.tasks import NOT_FOUND, TASK_TTL_MS, VideoTasks

from helpers import (
    OTHER_KEY,
    SUNRISE,
    TIME_SCALE,
    assert_mp4,
    data,
    make_settings,
    stdio_params,
    text,
)

pytestmark = pytest.mark.anyio


async def _output_schema(client: Client) -> dict[str, Any]:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["create_video"].output_schema
    assert schema is not None
    return dict(schema)


async def test_create_becomes_a_task_that_completes_with_the_saved_file(
    server: MCPServer, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """A declaring client gets a task (id = video id, working, interval, a day's TTL); polling
    it ends with the verified file, valid against create_video's output schema."""
    client, ext = task_client(server)
    async with client:
        assert TASKS in (client.server_capabilities.extensions or {})
        result = await client.call_tool("create_video", SUNRISE)
        schema = await _output_schema(client)
    assert not result.is_error, text(result)
    [task] = ext.created
    job = data(result)
    assert task.task_id == job["video_id"] and task.status == "working"
    assert task.ttl_ms is not None and task.ttl_ms >= 24 * 3600 * 1000 == TASK_TTL_MS
    assert task.poll_interval_ms == round(2 * 1000 / TIME_SCALE)  # the gateway's 2 s
    assert job["status"] == "completed" and job["mode"] == "file"
    [saved] = job["files"]
    assert Path(saved["path"]).parent == output_dir
    assert_mp4(Path(saved["path"]))
    jsonschema.validate(job, schema)
    assert emulator.counters["create"] == 1 and emulator.counters["content"] == 1
    assert ext.answers[-1]["statusMessage"] and ext.answers[-1]["resultType"] == "complete"


@pytest.mark.parametrize(
    ("outcome", "kind"), [("provider_error", "provider_error"), ("moderation", "content_refused")]
)
async def test_failed_and_refused_jobs_complete_with_the_is_error_result(
    server: MCPServer, emulator: EmulatorHandle, outcome: str, kind: str
) -> None:
    """A job that ends without a video completes the task with the isError result and the
    failure_kind the other tools give; nothing is downloaded."""
    emulator.plan_next_job(JobPlan(outcome=outcome))  # type: ignore[arg-type]
    client, ext = task_client(server)
    async with client:
        result = await client.call_tool("create_video", SUNRISE)
    assert len(ext.created) == 1
    assert result.is_error and data(result)["failure_kind"] == kind
    assert data(result)["video_id"] == ext.created[0].task_id
    assert emulator.counters["content"] == 0


async def test_creates_refused_before_any_job_answer_directly(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Over the cost ceiling (nothing sent) and a duplicate: the ordinary isError result."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, max_cost_usd=0.01)
    client, ext = task_client(build_server(settings))
    async with client:
        refused = await client.call_tool("create_video", SUNRISE)
    assert refused.is_error and data(refused)["failure_kind"] == "over_budget"
    assert ext.created == [] and emulator.counters["create"] == 0
    client, ext = task_client(build_server(make_settings(emulator.base_url, output_dir, state_dir)))
    async with client:
        first = await start_task(client, SUNRISE)
        again = await client.call_tool("create_video", SUNRISE)
    assert again.is_error and data(again)["failure_kind"] == "duplicate"
    assert data(again)["video_id"] == first.task_id and ext.created == []
    assert emulator.counters["create"] == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_clients_that_do_not_declare_it_and_2025_clients_see_no_change(
    server: MCPServer, emulator: EmulatorHandle, mode: str
) -> None:
    """Without the extension on the request (or on a 2025 protocol) create_video answers at
    once as always, and tasks/* are refused as the extension prescribes."""
    extensions = [TaskClient()] if mode == "legacy" else []
    async with Client(server, mode=mode, extensions=extensions) as client:
        result = await client.call_tool("create_video", SUNRISE)
        assert not result.is_error and data(result)["status"] == "queued"
        with pytest.raises(MCPError) as refused:
            await get_task(client.session, data(result)["video_id"])
    expected = MISSING_REQUIRED_CLIENT_CAPABILITY if mode == "auto" else METHOD_NOT_FOUND
    assert refused.value.code == expected
    assert emulator.counters["status"] == 0


async def test_unknown_and_other_owners_task_ids_give_the_same_invalid_params(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """An id that is not the caller's task, unknown or another key's, is -32602 with one
    message that reveals nothing; tasks/cancel says the same."""
    mine = build_server(make_settings(emulator.base_url, output_dir, state_dir))
    theirs = build_server(
        make_settings(emulator.base_url, output_dir, state_dir, api_key=OTHER_KEY)
    )
    client, _ = task_client(mine)
    async with client:
        task = await start_task(client, SUNRISE)
    errors = []
    other, _ = task_client(theirs)
    async with other:
        for send, task_id in ((get_task, task.task_id), (get_task, "vid_unknown"),
                              (cancel_task, task.task_id)):  # fmt: skip
            with pytest.raises(MCPError) as refused:
                await send(other.session, task_id)
            errors.append((refused.value.code, refused.value.message))
    assert errors == [(INVALID_PARAMS, NOT_FOUND)] * 3
    assert emulator.counters["status"] == 0 and emulator.counters["cancel"] == 0


async def test_tasks_get_never_reads_the_gateway_faster_than_the_poll_interval(
    output_dir: Path, state_dir: Path
) -> None:
    """However often the host calls tasks/get, the gateway is not read before the job's
    interval has passed: a call that comes too soon answers the last known state. (The
    gateway asks for 100 h between polls: an hour of real time at the tests' speed-up.)"""
    config = EmulatorConfig(time_scale=TIME_SCALE, poll_after_seconds=360_000)
    async with running_emulator(config) as emulator:
        server = build_server(make_settings(emulator.base_url, output_dir, state_dir))
        client, _ = task_client(server)
        async with client:
            task = await start_task(client, SUNRISE)
            assert task.poll_interval_ms == 360_000 * 1000 // TIME_SCALE
            emulator.clock.advance(10_000)  # the job is done at the gateway
            answers = [await get_task(client.session, task.task_id) for _ in range(30)]
        assert {a["status"] for a in answers} == {"working"}
        assert all(a["createdAt"] == task.created_at for a in answers)
        assert emulator.counters["status"] == 0 and emulator.counters["content"] == 0


async def test_a_greedy_host_gets_its_video_with_reads_bounded_by_the_interval(
    server: MCPServer, emulator: EmulatorHandle
) -> None:
    """A host that ignores pollIntervalMs still gets the video; the gateway saw at most one
    read per interval (2 s) of the time that passed, and one download."""
    client, ext = task_client(server, honour_interval=False)
    started = emulator.clock.now()
    async with client:
        result = await client.call_tool("create_video", SUNRISE)
    elapsed = emulator.clock.now() - started
    assert not result.is_error, text(result)
    assert 1 <= emulator.counters["status"] <= 1 + elapsed / 2
    assert emulator.counters["content"] == 1


async def test_concurrent_gets_of_a_finished_job_download_it_once(
    server: MCPServer, emulator: EmulatorHandle
) -> None:
    """Many tasks/get at once on a finished job: one gateway read, one download; every
    later answer is the same stored result."""
    client, _ = task_client(server)
    async with client:
        task = await start_task(client, SUNRISE)
        emulator.clock.advance(10_000)
        await anyio.sleep(task.poll_interval_ms / 1000)  # the host honours the interval
        answers: list[dict[str, Any]] = []

        async def one() -> None:
            answers.append(await get_task(client.session, task.task_id))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
        final = await follow_until_done(client.session, task.task_id)
        again = await get_task(client.session, task.task_id)
    assert {a["status"] for a in answers} <= {"working", "completed"}
    assert "completed" in {a["status"] for a in answers}
    assert emulator.counters["status"] == 1 and emulator.counters["content"] == 1
    assert again["result"] == final["result"] and not final["result"]["isError"]


async def test_cancel_gets_the_honest_answer(server: MCPServer, emulator: EmulatorHandle) -> None:
    """tasks/cancel asks the gateway (501 today) and answers {}; the task keeps working and
    its statusMessage says the gateway cannot cancel and the job continues."""
    emulator.plan_next_job(JobPlan(outcome="stuck"))
    client, _ = task_client(server)
    async with client:
        task = await start_task(client, SUNRISE)
        acknowledged = await cancel_task(client.session, task.task_id)
        answer = await get_task(client.session, task.task_id)
    assert {k: v for k, v in acknowledged.items() if k != "_meta"} in (
        {},
        {"resultType": "complete"},
    )
    assert emulator.counters["cancel"] == 1
    assert answer["status"] == "working"
    assert "does not support cancelling" in answer["statusMessage"]
    assert "continues" in answer["statusMessage"]


async def test_a_task_is_answered_after_the_stdio_server_restarts(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Over stdio (JSON on the wire): a task made by one server process completes through
    the next one, from the journal and the gateway."""
    params = stdio_params(emulator.base_url, output_dir, state_dir)
    client, _ = task_client(params)
    async with client:
        task = await start_task(client, SUNRISE)
    emulator.clock.advance(10_000)
    client, _ = task_client(params)
    async with client:
        answer = await follow_until_done(client.session, task.task_id)
    result = answer["result"]
    assert not result["isError"], json.dumps(result)[:500]
    [saved] = result["structuredContent"]["files"]
    assert_mp4(Path(saved["path"]))
    assert emulator.counters["create"] == 1 and emulator.counters["content"] == 1


class Confirm(BaseModel):
    confirm: bool


async def confirm(ctx: Context) -> Confirm | Elicit[Confirm]:
    return Elicit("This video costs $0.40. Continue?", Confirm)


async def test_an_input_round_before_the_job_passes_through_untouched() -> None:
    """A create_video that first asks the person (an input_required round, e.g. a price
    confirmation) reaches the client's elicitation handler unchanged: the interceptor makes
    a task only of a finished create that made a job."""
    asked: list[str] = []
    probe = MCPServer("probe", extensions=[VideoTasks()])

    @probe.tool()
    async def create_video(
        ok: Annotated[ElicitationResult[Confirm], Resolve(confirm)],
    ) -> str:
        return "confirmed" if isinstance(ok, AcceptedElicitation) else "declined"

    async def answer(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    ext = TaskClient()
    async with Client(probe, extensions=[ext], elicitation_callback=answer) as client:
        result = await client.call_tool("create_video", {})
    assert asked == ["This video costs $0.40. Continue?"]
    assert text(result) == "confirmed" and ext.created == []


async def test_gateway_trouble_is_a_status_message_and_a_vanished_job_ends_the_task(
    server: MCPServer, emulator: EmulatorHandle
) -> None:
    """A gateway that fails a read leaves the task working with a statusMessage saying so
    (never an error); a job the gateway no longer knows (404) ends it with not_found."""
    emulator.plan_next_job(JobPlan(outcome="stuck"))
    client, _ = task_client(server)
    async with client:
        task = await start_task(client, SUNRISE)
        interval = (task.poll_interval_ms or 0) / 1000
        emulator.faults.add(route="status", kind="http", status=503, count=100)
        await anyio.sleep(interval)
        troubled = await get_task(client.session, task.task_id)
        emulator.faults.clear()
        emulator.faults.add(route="status", kind="http", status=404, count=100)
        await anyio.sleep(interval)
        ended = await get_task(client.session, task.task_id)
    assert troubled["status"] == "working"
    assert "could not be read" in troubled["statusMessage"]
    assert ended["status"] == "completed" and ended["result"]["isError"]
    assert '"failure_kind":"not_found"' in ended["result"]["content"][-1]["text"]
