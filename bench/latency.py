"""Figure 2: get_video_status through MCP over stdio vs a raw httpx GET of the same route.

The emulator runs in its own process, so both paths hit the same server under the same load.
Calls alternate one MCP, one raw (then the other order), so drift hits both alike.
"""

from __future__ import annotations

import time
from typing import IO

import anyio
import httpx

from bench.common import (
    API_KEY,
    EmulatorProcess,
    Figure,
    create_job,
    percentile,
    server_env,
    wait_completed,
    workdir,
)
from bench.mcpclient import stdio_session, structured


async def run(quick: bool, log: IO[str]) -> list[Figure]:
    calls = 30 if quick else 400
    warmup = 5 if quick else 30
    with workdir("latency") as wd, EmulatorProcess.run(log=log, job_seconds=0.05) as emu:
        emu.plan(seconds=0.01)
        job = create_job(emu.base_url)
        video_id = job["id"]
        await anyio.to_thread.run_sync(wait_completed, emu.base_url, video_id)
        url = f"{emu.base_url}/videos/{video_id}"
        env = server_env(emu.base_url, wd)
        mcp_ms: list[float] = []
        raw_ms: list[float] = []
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=30.0) as http,
            stdio_session(env, errlog=log) as (client, _server),
        ):

            async def mcp_call() -> float:
                start = time.perf_counter()
                result = await client.call_tool("get_video_status", {"video_id": video_id})
                elapsed = time.perf_counter() - start
                if structured(result)["status"] != "completed":
                    raise RuntimeError("unexpected status result")
                return elapsed * 1000

            async def raw_call() -> float:
                start = time.perf_counter()
                response = await http.get(url)
                body = response.json()
                elapsed = time.perf_counter() - start
                if body["status"] != "completed":
                    raise RuntimeError("unexpected raw status")
                return elapsed * 1000

            for _ in range(warmup):
                await mcp_call()
                await raw_call()
            for i in range(calls):
                if i % 2 == 0:
                    mcp_ms.append(await mcp_call())
                    raw_ms.append(await raw_call())
                else:
                    raw_ms.append(await raw_call())
                    mcp_ms.append(await mcp_call())
    p50m, p99m = percentile(mcp_ms, 50), percentile(mcp_ms, 99)
    p50r, p99r = percentile(raw_ms, 50), percentile(raw_ms, 99)
    ratio = p50m / p50r
    return [
        Figure(
            key="status_latency",
            name="get_video_status via MCP stdio vs raw httpx GET",
            measured=(
                f"MCP p50 {p50m:.2f} ms / p99 {p99m:.2f} ms vs raw p50 {p50r:.2f} ms / "
                f"p99 {p99r:.2f} ms ({calls} calls each); p99 ratio {p99m / p99r:.2f}"
            ),
            ratio=ratio,
            target="p50 <= 2x raw",
            met=ratio <= 2.0,
            details={
                "mcp_p50_ms": p50m,
                "mcp_p99_ms": p99m,
                "raw_p50_ms": p50r,
                "raw_p99_ms": p99r,
                "calls": calls,
            },  # fmt: skip
        )
    ]
