"""``phaseo://videos/{video_id}``: a job's current status as JSON.

An id that is malformed or that the gateway does not know (for this key) is the SDK's
``ResourceNotFoundError`` (JSON-RPC -32602, as the spec asks for an unknown resource); any
other failure (no key, gateway unreachable) is a ``ResourceError`` (-32603) carrying our
message, never a generic internal error.
"""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from phaseo_mcp.errors import InputError, PhaseoError
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.server.results import video_result


def register_resources(server: MCPServer) -> None:
    @server.resource(
        "phaseo://videos/{video_id}",
        name="video_status",
        title="Video job status",
        description="The current status of a video job, as JSON (one gateway request).",
        mime_type="application/json",
    )
    async def video_status(video_id: str, ctx: Context) -> str:
        # Imported on first read, as the tools import theirs: httpx and the jobs layer
        # cost start-up (spawn -> tools/list) about 0.1 s otherwise (python -X importtime).
        from phaseo_mcp.server.request import gateway_for, look_up

        try:
            check_video_id(video_id)
        except InputError as exc:
            raise ResourceNotFoundError(f"No video {video_id!r}: {exc.message}") from None
        try:
            job, _ = await look_up(*gateway_for(ctx), video_id)
        except PhaseoError as exc:
            if exc.failure_kind == "not_found":
                raise ResourceNotFoundError(exc.message) from None
            raise ResourceError(exc.message) from None
        return video_result(job).model_dump_json(exclude_none=True)
