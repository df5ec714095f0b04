"""Figure 5: what the server costs a model's context — tools/list, a typical status result,
and a download result per output.

Sizes are the bytes of the JSON-RPC answers exactly as they came off the server's stdout
(tokens ≈ bytes / 4). The status result is for a job in progress (the common case while
waiting); a completed job's result is reported alongside. The download result is split into
its text content (what every host shows the model: each whole path or signed URL) and its
structuredContent (what some hosts show instead), per output, for jobs of 1 and 4 outputs
in both modes.
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


def _download_sizes(session: Any, request_id: int, video_id: str, mode: str) -> dict[str, int]:
    session.send(_call(request_id, "download_video", {"video_id": video_id, "mode": mode}))
    line = session.read_response(request_id)
    result = json.loads(line)["result"]
    if result.get("isError"):
        raise RuntimeError(f"download failed: {line[:300]!r}")
    texts = [b["text"] for b in result["content"] if b["type"] == "text"]
    return {
        "outputs": len(result["structuredContent"]["files"]),
        "line_bytes": len(line),
        "text_bytes": sum(len(t.encode()) for t in texts),
        "json_bytes": len(json.dumps(result["structuredContent"], separators=(",", ":"))),
    }


def measure_downloads(emu: EmulatorProcess, session: Any) -> dict[str, dict[str, float]]:
    """Per-output text and structuredContent bytes of download_video results."""
    sizes: dict[str, dict[str, float]] = {}
    request_id = 100
    for outputs in (1, 4):
        emu.plan(seconds=0.01)
        args = {"model": "google/veo-3.1", "prompt": "benchmark clip", "duration": 4,
                "sample_count": outputs}  # fmt: skip
        session.send(_call(request_id, "create_video", args))
        created = json.loads(session.read_response(request_id))["result"]
        video_id = created["structuredContent"]["video_id"]
        emu.command("advance", seconds=10)
        for mode in ("url", "file"):
            request_id += 1
            m = _download_sizes(session, request_id, video_id, mode)
            if m["outputs"] != outputs:
                raise RuntimeError(f"expected {outputs} outputs, got {m['outputs']}")
            sizes[f"{mode}_{outputs}"] = {
                "text_bytes_per_output": m["text_bytes"] / outputs,
                "json_bytes_per_output": m["json_bytes"] / outputs,
                "line_bytes": m["line_bytes"],
            }
        request_id += 1
    return sizes


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
            downloads = measure_downloads(emu, session)
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
        "downloads": downloads,
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
        _download_figure(m["downloads"]),
    ]


def _download_figure(d: dict[str, dict[str, float]]) -> Figure:
    def row(key: str) -> str:
        return (
            f"text {d[key]['text_bytes_per_output']:.0f} + JSON "
            f"{d[key]['json_bytes_per_output']:.0f} B/output"
        )

    url4 = d["url_4"]
    return Figure(
        key="download_result_size",
        name="download_video result size per output",
        measured=(
            f"signed links: {row('url_1')} (1 output), {row('url_4')} (4 outputs); saved "
            f"files: {row('file_1')}, {row('file_4')}; ratio text / JSON, 4 links"
        ),
        ratio=url4["text_bytes_per_output"] / url4["json_bytes_per_output"],
        target="informational (text names every whole path or URL)",
        met=None,
        details=d,
    )
