"""Figure 4: many agents — concurrent wait_for_video calls over stateless streamable HTTP on
one server process, on jobs that finish at staggered times.

Set-up: the emulator and the server (``phaseo-mcp serve --transport http --stateless``) each
run in their own process with the same time scale, so the server's CPU is measured alone
(psutil, user + system, over the waiting phase only). Jobs are created straight at the
emulator (creates are not what is measured) and run until every agent has polled its job
once (on a loaded machine, 200 clients connecting can take longer than any fixed head
start); then job ``i`` of ``n`` ends ``first + span * i / n`` emulated seconds later, so
completions are spread evenly over ``span``. Each agent is its own MCP
``Client`` and calls ``wait_for_video`` until the job is terminal.

Per job: the emulator timestamps every status request (CLOCK_MONOTONIC is system-wide), so
the minimum number of polls the interval allows is ``1 + ceil((end - first_poll) /
interval)``: one at the start, then one per interval until one lands at or after the end.
Lag is from the job's end to the agent holding the result.

Beside it, in the same run, the same waits with webhooks on (issue 17): a second server with
``PHASEO_PUBLIC_URL`` (its own loopback address) and ``PHASEO_WEBHOOK_SECRET``; the jobs are
created through it with ``create_video``, so they carry its webhook. Its figure: p99 lag in poll
intervals (target <= 0.05) and gateway polls per job (target: at most half the polling
figure's).

Each agent is ready before it waits, as a long-lived host is: it has listed the tools, and the
Python SDK's client has compiled wait_for_video's output-schema validator. The SDK does both
lazily inside the first ``call_tool``, which put about 15 ms of one-time client set-up (a
tools/list round trip, then ~6 ms compiling) into every job's lag.
"""

from __future__ import annotations

import math
import socket
import subprocess
import time
from typing import IO, Any

import anyio
import httpx
import psutil
from mcp import Client
from mcp.types import CallToolResult

from bench.common import (
    API_KEY,
    PYTHON,
    REPO,
    EmulatorProcess,
    Figure,
    percentile,
    server_env,
    stop_process,
    workdir,
)

MODEL = "google/veo-3.1-lite"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the HTTP server exited (code {proc.returncode})")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("the HTTP server did not become healthy")


def _start(argv: list[str], env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=log)


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"
EMPTY_RESULT = CallToolResult(content=[], structured_content={})
UNENDING = 1e9  # emulated seconds: a job runs until _end_once_all_polled gives it an end


async def run(quick: bool, log: IO[str]) -> list[Figure]:
    n = 20 if quick else 200
    scale = 10.0 if quick else 4.0  # emulated seconds per real second (emulator and server)
    interval = 4  # the gateway's poll_after_seconds (emulated)
    # The first job ends a few real seconds in, after every agent has made its first call.
    # (200 MCP clients connecting at once took over 4 s of real time on the 2-core machine.)
    first, span = (8.0, 10.0) if quick else (40.0, 40.0)
    polling = await _phase(log, n, scale, interval, first, span, webhooks=False)
    hooked = await _phase(log, n, scale, interval, first, span, webhooks=True)
    polls = polling.details["mean_polls_per_job"]
    hooked_polls = hooked.details["mean_polls_per_job"]
    p99 = hooked.details["lag_p99_intervals"]
    complete = hooked.details["complete"] == n
    hooked.met = complete and p99 <= 0.05 and hooked_polls <= polls / 2
    hooked.measured += f"; polling run beside it: polls/job mean {polls:.2f}"
    hooked.details["polling_polls_per_job"] = polls
    return [polling, hooked]


async def _phase(
    log: IO[str], n: int, scale: float, interval: int, first: float, span: float, *,
    webhooks: bool,
) -> Figure:  # fmt: skip
    with (
        workdir("agents") as wd,
        EmulatorProcess.run(
            log=log, time_scale=scale, poll_after_seconds=interval, job_seconds=first
        ) as emu,
    ):
        port = free_port()
        extra = {"PHASEO_TIME_SCALE": str(scale)}
        if webhooks:
            extra |= {"PHASEO_PUBLIC_URL": f"http://127.0.0.1:{port}",
                      "PHASEO_WEBHOOK_SECRET": WEBHOOK_SECRET}  # fmt: skip
        env = server_env(emu.base_url, wd, **extra)
        argv = [PYTHON, "-m", "phaseo_mcp", "serve", "--transport", "http", "--stateless",
                "--port", str(port)]  # fmt: skip
        server = _start(argv, env, log)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz", server)
            proc = psutil.Process(server.pid)
            url = f"http://127.0.0.1:{port}/mcp"
            if webhooks:
                ids = await _create_through_server(url, emu, n)
            else:
                ids = _create_jobs(emu, n)
            jobs: list[dict[str, Any]] = [{"id": video_id} for video_id in ids]
            emu.reset()  # count only the waiting phase's requests
            cpu_before = _cpu(proc)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_end_once_all_polled, emu, jobs, first, span)
                results = await _agents(url, jobs, timeout_seconds=int(first + span) + 20)
            cpu_after = _cpu(proc)
            stats = emu.stats()
        finally:
            stop_process(server)
    return _figure(jobs, results, stats, cpu_after - cpu_before, n, scale, interval, webhooks)


async def _create_through_server(url: str, emu: EmulatorProcess, n: int) -> list[str]:
    """Creates via create_video, so each job carries the server's webhook."""
    ids: list[str] = []
    async with Client(url, read_timeout_seconds=60) as client:
        for i in range(n):
            emu.plan(seconds=UNENDING)
            result = await client.call_tool(
                "create_video", {"model": MODEL, "prompt": f"agent {i}", "duration": 8}
            )
            if result.is_error or not result.structured_content:
                raise RuntimeError(f"create_video failed: {result.content}")
            ids.append(str(result.structured_content["video_id"]))
    return ids


async def _end_once_all_polled(
    emu: EmulatorProcess, jobs: list[dict[str, Any]], first: float, span: float
) -> None:
    """Once every agent has polled its job, job ``i`` ends ``first + span * i / n`` emulated
    seconds later; each end is then read from the emulator's clock (CLOCK_MONOTONIC)."""
    n = len(jobs)
    with anyio.fail_after(300):
        while True:
            polled = (await anyio.to_thread.run_sync(emu.stats))["status_by_id"]
            if all(polled.get(job["id"]) for job in jobs):
                break
            await anyio.sleep(0.05)
    plan = {job["id"]: first + span * i / n for i, job in enumerate(jobs)}
    ends = (await anyio.to_thread.run_sync(lambda: emu.command("end_in", plan=plan)))["ends"]
    for job in jobs:
        job["end"], job["end_error"] = ends[job["id"]], 0.0


def _create_jobs(emu: EmulatorProcess, n: int) -> list[str]:
    """Creates straight at the emulator (not what is measured)."""
    ids: list[str] = []
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30.0) as http:
        for i in range(n):
            emu.plan(seconds=UNENDING)
            response = http.post(
                f"{emu.base_url}/videos", json={"model": MODEL, "prompt": f"agent {i}"}
            )
            response.raise_for_status()
            ids.append(str(response.json()["id"]))
    return ids


async def _ready(client: Client) -> None:
    """What a long-lived host has done before its wait: listed the tools, and (the Python
    SDK's client) compiled wait_for_video's output-schema validator, which it otherwise does
    on the first result, inside the measured lag (about 6 ms of client CPU per tool and
    session, on top of a tools/list round trip)."""
    await client.list_tools()
    try:  # an empty result fails validation, after the validator is compiled and cached
        await client.session.validate_tool_result("wait_for_video", EMPTY_RESULT)
    except RuntimeError:
        pass


async def _agents(url: str, jobs: list[dict[str, Any]], timeout_seconds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}

    async def agent(job: dict[str, Any]) -> None:
        calls = 0
        try:
            async with Client(url, read_timeout_seconds=300) as client:
                await _ready(client)
                while True:
                    calls += 1
                    result = await client.call_tool(
                        "wait_for_video",
                        {"video_id": job["id"], "timeout_seconds": timeout_seconds},
                    )
                    done = time.monotonic()  # the agent holds the result (before it disconnects)
                    data = result.structured_content or {}
                    if result.is_error or data.get("terminal") or calls >= 5:
                        break
            results[job["id"]] = {
                "done": done,
                "status": data.get("status"),
                "video_id": data.get("video_id"),
                "error": result.is_error,
                "calls": calls,
            }
        except Exception as exc:  # recorded as incomplete, never hides the others
            results[job["id"]] = {"error": f"{type(exc).__name__}: {exc}", "calls": calls}

    with anyio.fail_after(600):
        async with anyio.create_task_group() as tg:
            for job in jobs:
                tg.start_soon(agent, job)
    return results


def _figure(
    jobs: list[dict[str, Any]],
    results: dict[str, Any],
    stats: dict[str, Any],
    cpu_seconds: float,
    n: int,
    scale: float,
    interval: int,
    webhooks: bool = False,
) -> Figure:
    real_interval = interval / scale
    complete = 0
    extra_polls: list[int] = []
    polls_per_job: list[int] = []
    lags: list[float] = []  # in poll intervals
    detect_lags: list[float] = []
    delivery_ms: list[float] = []  # the completing poll's arrival -> the agent has the result
    already_done = 0  # jobs that had ended before their agent's first poll (skews lag)
    for job in jobs:
        res = results.get(job["id"], {})
        ok = (
            not res.get("error")
            and res.get("status") == "completed"
            and res.get("video_id") == job["id"]
        )
        complete += ok
        times = sorted(stats["status_times"].get(job["id"], []))
        polls = len(times)
        polls_per_job.append(polls)
        if times and times[0] >= job["end"]:
            already_done += 1
        if times:
            left = max(0.0, job["end"] - times[0])
            minimum = 1 + math.ceil(left / real_interval - 1e-3)
            extra_polls.append(polls - minimum)
            after = [t for t in times if t >= job["end"]]
            if after:
                detect_lags.append((after[0] - job["end"]) / real_interval)
                if ok:
                    delivery_ms.append((res["done"] - after[0]) * 1000)
        if ok:
            lags.append((res["done"] - job["end"]) / real_interval)
    total_polls = int(stats["counters"].get("status", 0))
    cpu_per_poll_ms = cpu_seconds / total_polls * 1000 if total_polls else math.nan
    worst_extra = max(extra_polls) if extra_polls else math.nan
    p50_lag, p99_lag = percentile(lags, 50), percentile(lags, 99)
    met = complete == n and worst_extra <= 1 and p99_lag <= 1.0 and cpu_per_poll_ms <= 2.0
    mean_polls = sum(polls_per_job) / len(polls_per_job)
    mean_extra = sum(extra_polls) / len(extra_polls) if extra_polls else math.nan
    details: dict[str, Any] = {  # what both figures report
        "complete": complete,
        "agents": n,
        "mean_polls_per_job": mean_polls,
        "lag_p50_intervals": p50_lag,
        "lag_p99_intervals": p99_lag,
        "status_polls": total_polls,
        "server_cpu_s": cpu_seconds,
        "errors": [r["error"] for r in results.values() if r.get("error")][:5],
    }
    if webhooks:
        return Figure(
            key="many_agents_webhooks",
            name=f"{n} concurrent wait_for_video, webhooks on (beside the polling figure)",
            measured=(
                f"{complete}/{n} completed; polls/job mean {mean_polls:.2f}; lag p50 "
                f"{p50_lag:.3f} / p99 {p99_lag:.3f} poll intervals; server CPU "
                f"{cpu_seconds:.2f} s for {total_polls} polls"
            ),
            ratio=p99_lag,
            target="100% complete, p99 lag <= 0.05 interval, polls/job <= half of polling's",
            met=None,  # decided in run(), beside the polling figure
            details=details,
            note=(
                "ratio column = p99 lag in poll intervals; jobs created through the server "
                "(so they carry its webhook), each job's end read from the emulator's clock"
            ),
        )
    return Figure(
        key="many_agents",
        name=f"{n} concurrent wait_for_video over stateless HTTP, one process",
        measured=(
            f"{complete}/{n} completed; polls/job mean {mean_polls:.2f}, "
            f"above minimum: mean {mean_extra:.2f}, max {worst_extra}; lag p50 {p50_lag:.2f} / "
            f"p99 {p99_lag:.2f} poll intervals; server CPU {cpu_per_poll_ms:.2f} ms per poll "
            f"({cpu_seconds:.2f} s / {total_polls} polls)"
        ),
        ratio=p99_lag,
        target="100% complete, <= 1 extra poll/job, p99 lag <= 1 interval, <= 2 ms CPU/poll",
        met=met,
        details={
            **details,
            "time_scale": scale,
            "poll_interval_s": interval,
            "max_extra_polls": worst_extra,
            "mean_extra_polls": mean_extra,
            "detect_lag_p99_intervals": percentile(detect_lags, 99),
            "delivery_p50_ms": percentile(delivery_ms, 50),
            "delivery_p99_ms": percentile(delivery_ms, 99),
            "cpu_ms_per_poll": cpu_per_poll_ms,
            "ended_before_first_poll": already_done,
        },
        note=(
            "ratio column = p99 lag in poll intervals; jobs created straight at the emulator; "
            "emulator and server in their own processes, same time scale"
        ),
    )
