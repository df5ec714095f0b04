"""The MCP Tasks extension (``io.modelcontextprotocol/tasks``, SEP-2663) for video jobs.

Built only on the SDK's public extension framework (``Extension``, ``intercept_tool_call``,
``MethodBinding``), so a future SDK Tasks runtime can replace this module whole.

- Negotiation: the server advertises the extension (``capabilities.extensions``). A
  ``create_video`` whose own request declared it (per-request client capabilities, protocol
  2026-07-28) and that made a job is answered with a task whose id is the video id. Every
  other call, client and protocol version gets the ordinary result, untouched: refusals
  before any job, duplicates and ``input_required`` rounds (a price confirmation) included.
- State: none of our own. The task row in the journal (``jobs/task_records.py``) and the
  gateway are the state, so ``tasks/get`` answers across restarts and on any replica.
- ``tasks/get`` reads the journal, then at most one gateway read, and only once the job's
  poll interval has passed since the last read by anyone (too soon: the last known state).
  The finished result is built once (``task_results.py``) under a lease in the journal.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context
from mcp.shared.inbound import decode_header_value
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolRequestParams,
    CallToolResult,
    RequestParams,
)
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from phaseo_mcp.errors import PhaseoError
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.task_records import TaskRecord, TaskRecords
from phaseo_mcp.server.task_results import TaskCall, cancel, follow, poll_seconds, working_message

log = logging.getLogger(__name__)

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
TASK_PROTOCOL_VERSIONS = frozenset({"2026-07-28"})
TASK_TTL_MS = 24 * 3600 * 1000  # a task outlives its signed links (an hour): they are renewed
NOT_FOUND = "Failed to retrieve task: Task not found"  # unknown and foreign ids alike
TASK_TOOLS = frozenset({"create_video"})


class TaskIdParams(RequestParams):
    """``tasks/get``, ``tasks/cancel`` and ``tasks/update`` params (the last ignored)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
    task_id: str = Field(max_length=200)


def declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this very request declared the extension (never an earlier one)."""
    if ctx.protocol_version not in TASK_PROTOCOL_VERSIONS:
        return False
    capabilities = dict(ctx.meta or {}).get(CLIENT_CAPABILITIES_META_KEY)
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    return isinstance(extensions, dict) and TASKS_EXTENSION in extensions


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def task_view(record: TaskRecord) -> dict[str, Any]:
    """The task as ``tasks/get`` shows it: working, or completed with its result."""
    view: dict[str, Any] = {
        "taskId": record.video_id,
        "status": "completed" if record.completed else "working",
        "createdAt": _iso(record.created_at),
        "lastUpdatedAt": _iso(record.updated_at),
        "ttlMs": TASK_TTL_MS,
        "pollIntervalMs": max(1, round(record.poll_seconds * 1000)),
    }
    message = " ".join(m for m in (record.cancel_note, record.message) if m)
    if record.completed:
        message = record.message or ""
        view["result"] = record.result
    if message:
        view["statusMessage"] = message
    return view


def _check_mcp_name(ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
    """Over HTTP the ``Mcp-Name`` header must carry the task id (the SDK checks it only for
    tools, prompts and resources)."""
    headers = getattr(ctx.request, "headers", None)
    if headers is None:
        return  # stdio: no headers
    if decode_header_value(headers.get("mcp-name")) != task_id:
        raise MCPError(
            HEADER_MISMATCH, "mcp-name header does not match the request body's 'taskId' parameter"
        )


async def _records_for(context: Context[Any, Any]) -> TaskRecords:
    from phaseo_mcp.server.owner import owner_of
    from phaseo_mcp.server.state import state_of

    state = state_of(context)
    try:
        owner = owner_of(context, state.settings)
    except PhaseoError:
        raise MCPError(INVALID_PARAMS, NOT_FOUND) from None  # no key: no task of theirs
    journal = await state.journal()
    if journal is None:
        raise MCPError(INTERNAL_ERROR, "The job journal is unavailable; try again later.")
    return TaskRecords(journal, owner.key_fp, owner.id)


async def task_call(ctx: ServerRequestContext[Any, Any], task_id: str) -> TaskCall:
    """Checks every ``tasks/*`` request passes; -32602 with one message for any id that is
    not this caller's task."""
    if not declares_tasks(ctx):
        raise MCPError(
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            "Missing required client capability",
            {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
        )
    _check_mcp_name(ctx, task_id)
    context: Context[Any, Any] = Context(request_context=ctx)
    records = await _records_for(context)
    try:
        record = await anyio.to_thread.run_sync(records.get, task_id)
    except JournalError as exc:
        raise MCPError(INTERNAL_ERROR, f"The job journal could not be read: {exc.message}") from exc
    if record is None:
        raise MCPError(INVALID_PARAMS, NOT_FOUND)
    return TaskCall(context, records, record)


async def _open_task(ctx: ServerRequestContext[Any, Any], job: dict[str, Any]) -> TaskRecord:
    """The durable task of a job create_video just made (JournalError/PhaseoError if not)."""
    context: Context[Any, Any] = Context(request_context=ctx)
    records = await _records_for(context)
    state = context.request_context.lifespan_context
    return await anyio.to_thread.run_sync(
        lambda: records.open(
            str(job["video_id"]),
            poll_seconds=poll_seconds(state.settings, job.get("poll_after_seconds")),
            message=working_message(job),
        )
    )


class VideoTasks(Extension):
    """``create_video`` as a task, and ``tasks/get``, ``tasks/cancel``, ``tasks/update``."""

    identifier = TASKS_EXTENSION

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskIdParams, self._get, TASK_PROTOCOL_VERSIONS),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel, TASK_PROTOCOL_VERSIONS),
            MethodBinding("tasks/update", TaskIdParams, self._update, TASK_PROTOCOL_VERSIONS),
        ]

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        result = await call_next(ctx)
        if params.name not in TASK_TOOLS or not declares_tasks(ctx):
            return result
        # Only a create that made a job becomes a task; refusals, duplicates and input
        # rounds (e.g. a price confirmation) go back exactly as they came.
        if not isinstance(result, CallToolResult) or result.is_error:
            return result
        job = result.structured_content
        if not isinstance(job, dict) or not isinstance(job.get("video_id"), str):
            return result
        try:
            record = await _open_task(ctx, job)
        except (PhaseoError, MCPError) as exc:  # not durable: a task must not be promised
            log.warning("answering create_video without a task: %s", exc)
            return result
        return {"resultType": "task", **task_view(record)}

    async def _get(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> dict[str, Any]:
        call = await task_call(ctx, params.task_id)
        record = await follow(call)
        return {"resultType": "complete", **task_view(record)}

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> dict[str, Any]:
        call = await task_call(ctx, params.task_id)
        await cancel(call)
        return {}

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> dict[str, Any]:
        await task_call(ctx, params.task_id)  # video tasks never ask for input: nothing to do
        return {}
