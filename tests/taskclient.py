"""A Tasks-extension client for the tests: the SDK's public ClientExtension and ResultClaim,
and tasks/get, tasks/cancel sent as requests of their own (with the Mcp-Name header)."""

from __future__ import annotations

from typing import Any, Literal

import anyio
import anyio.lowlevel
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession
from mcp.types import CallToolResult
from mcp_types import Request, RequestParams, Result
from pydantic import ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel

TASKS = "io.modelcontextprotocol/tasks"
MAX_POLLS = 400


class TaskIdParams(RequestParams):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    task_id: str


class GetTask(Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"


class CancelTask(Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams
    name_param = "taskId"


class CreateTaskResult(Result):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None
    status_message: str | None = None


async def get_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    raw = await session.send_request(
        GetTask(params=TaskIdParams(task_id=task_id)), TypeAdapter(dict)
    )
    return dict(raw)


async def cancel_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    raw = await session.send_request(
        CancelTask(params=TaskIdParams(task_id=task_id)), TypeAdapter(dict)
    )
    return dict(raw)


class TaskClient(ClientExtension):
    """Declares the extension; ``call_tool`` then polls tasks/get until the task is done.

    ``honour_interval=False`` polls as fast as it can (a greedy host). Every created task and
    every tasks/get answer is kept for the test to inspect."""

    identifier = TASKS

    def __init__(self, *, honour_interval: bool = True) -> None:
        self.honour_interval = honour_interval
        self.created: list[CreateTaskResult] = []
        self.answers: list[dict[str, Any]] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=self._resolve)]

    async def _resolve(self, task: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
        self.created.append(task)
        with anyio.fail_after(60):
            for _ in range(MAX_POLLS):
                answer = await get_task(ctx.session, task.task_id)
                self.answers.append(answer)
                if answer["status"] == "completed":
                    return CallToolResult.model_validate(answer["result"])
                assert answer["status"] == "working", answer
                if self.honour_interval:
                    await anyio.sleep(answer.get("pollIntervalMs", 1000) / 1000)
                else:
                    await anyio.lowlevel.checkpoint()
        raise AssertionError(f"task {task.task_id} never completed")


def task_client(server: Any, **kw: Any) -> tuple[Client, TaskClient]:
    ext = TaskClient(**{k: kw.pop(k) for k in list(kw) if k == "honour_interval"})
    return Client(server, extensions=[ext], **kw), ext


async def start_task(client: Client, arguments: dict[str, Any]) -> CreateTaskResult:
    """create_video answered with its task, which this client then follows by hand."""
    result = await client.session.call_tool("create_video", arguments, allow_claimed=True)
    assert isinstance(result, CreateTaskResult), result
    return result


async def follow_until_done(session: ClientSession, task_id: str) -> dict[str, Any]:
    """tasks/get, at the interval each answer asks for, until the task completes."""
    with anyio.fail_after(60):
        for _ in range(MAX_POLLS):
            answer = await get_task(session, task_id)
            if answer["status"] == "completed":
                return answer
            await anyio.sleep(answer.get("pollIntervalMs", 1000) / 1000)
    raise AssertionError(f"task {task_id} never completed")
