"""Figure 5: what the server costs a model's context — tools/list and a typical status result.

Sizes are the bytes of the JSON-RPC answers exactly as they came off the server's stdout
(tokens ≈ bytes / 4). The status result is for a job in progress (the common case while
waiting); a completed job's result is reported alongside.
"""

from __future__ import annotations

import json
from typing import IO, Any

import anyio

from bench.common import PYTHON, EmulatorProcess, Figure, create_job, server_env, workdir
from bench.rawstdio import initialize_lines, spawn

TOOLS_LIST_TARGET = 12 * 1024


def _call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}  # fmt: skip


def measure(log: IO[str]) -> dict[str, Any]:
    with workdir("footprint") as wd, EmulatorProcess.run(log=log, job_seconds=1000) as emu:
        emu.plan(seconds=1000)
        running = create_job(emu.base_url)["id"]
        emu.command("advance", seconds=400)  # 40 % through: processing, with progress
        emu.plan(seconds=0.01)
        done = create_job(emu.base_url)["id"]
        env = server_env(emu.base_url, wd)
        with spawn([PYTHON, "-m", "phaseo_mcp"], env, log) as session:
            session.send(*initialize_lines(), {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
            tools_line = session.read_response(2)
            session.send(_call(3, "get_video_status", {"video_id": running}))
            running_line = session.read_response(3)
            session.send(_call(4, "get_video_status", {"video_id": done}))
            done_line = session.read_response(4)
    tools = json.loads(tools_line)["result"]["tools"]
    status = json.loads(running_line)["result"]
    if status.get("isError") or status["structuredContent"]["status"] != "processing":
        raise RuntimeError(f"unexpected status result: {running_line[:300]!r}")
    return {
        "tools_list_bytes": len(tools_line),
        "tools": len(tools),
        "per_tool_bytes": {t["name"]: len(json.dumps(t, separators=(",", ":"))) for t in tools},
        "status_bytes": len(running_line),
        "status_structured_bytes": len(
            json.dumps(status["structuredContent"], separators=(",", ":"))
        ),
        "status_completed_bytes": len(done_line),
    }


async def run(quick: bool, log: IO[str]) -> list[Figure]:
    m = await anyio.to_thread.run_sync(measure, log)
    size = m["tools_list_bytes"]
    ratio = size / TOOLS_LIST_TARGET
    biggest = max(m["per_tool_bytes"].items(), key=lambda kv: kv[1])
    return [
        Figure(
            key="tools_list_size",
            name="tools/list answer size",
            measured=(
                f"{size} bytes ≈ {size // 4} tokens for {m['tools']} tools (largest: "
                f"{biggest[0]} {biggest[1]} bytes); ratio to the 12 KB target"
            ),
            ratio=ratio,
            target="<= 12 KB (ratio <= 1)",
            met=size <= TOOLS_LIST_TARGET,
            details=m,
        ),
        Figure(
            key="status_result_size",
            name="typical get_video_status result size",
            measured=(
                f"{m['status_bytes']} bytes ≈ {m['status_bytes'] // 4} tokens (processing job; "
                f"structuredContent {m['status_structured_bytes']} bytes; completed job "
                f"{m['status_completed_bytes']} bytes); ratio to tools/list"
            ),
            ratio=m["status_bytes"] / size,
            target="informational",
            met=None,
            details={
                k: m[k]
                for k in ("status_bytes", "status_structured_bytes", "status_completed_bytes")
            },  # fmt: skip
        ),
    ]
