"""The gateway emulator in its own process, for the benchmarks.

    python bench/emulator_proc.py '{"time_scale": 1, "job_seconds": 0.05}'

Prints ``{"base_url": ...}`` once it listens on a loopback port, then answers one JSON line
per JSON command line on stdin: ``plan`` (JobPlan fields for the next created job),
``stats`` (route counters, status requests per video id and when each came), ``end_in``
(``plan``: video id -> emulated seconds from now until it ends; answers each end as
CLOCK_MONOTONIC seconds), ``advance``
(the emulated clock, by ``seconds``), ``reset``, ``quit``. Stdin EOF also stops it, so it
never outlives the benchmark.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from typing import Any

import anyio

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, JobPlan, running_emulator
from phaseo_mcp.emulator import middleware as _middleware

# When each status request arrived (CLOCK_MONOTONIC is system-wide, so the benchmark process
# can compare these with its own clock): video id -> [monotonic seconds, ...].
STATUS_TIMES: dict[str, list[float]] = {}
_original_record = _middleware.FaultMiddleware._record


def _timed_record(self: Any, route: str, scope: Any, query: str, body: bytes) -> None:
    if route == "status":
        video_id = str(scope["path"]).rstrip("/").rsplit("/", 1)[-1]
        STATUS_TIMES.setdefault(video_id, []).append(time.monotonic())
    _original_record(self, route, scope, query, body)


_middleware.FaultMiddleware._record = _timed_record  # type: ignore[method-assign]


def _answer(handle: EmulatorHandle, command: dict[str, Any]) -> dict[str, Any]:
    cmd = command.get("cmd")
    if cmd == "plan":
        handle.plan_next_job(JobPlan.from_dict(command["plan"]))
        return {"ok": True}
    if cmd == "stats":
        by_id: dict[str, int] = {}
        for request in handle.requests.get("status", []):
            video_id = request.path.rstrip("/").rsplit("/", 1)[-1]
            by_id[video_id] = by_id.get(video_id, 0) + 1
        return {"counters": dict(handle.counters), "status_by_id": by_id,
                "status_times": STATUS_TIMES}  # fmt: skip
    if cmd == "end_in":
        clock_now, mono_now = handle.clock.now(), time.monotonic()
        ends: dict[str, float] = {}
        for video_id, seconds in dict(command["plan"]).items():
            job = handle.jobs[video_id]
            total = clock_now - job.created_at + float(seconds)
            handle.plan_job(video_id, dataclasses.replace(job.plan, seconds=total))
            ends[video_id] = mono_now + float(seconds) / handle.clock.time_scale
        return {"ends": ends}
    if cmd == "advance":
        return {"now": handle.clock.advance(float(command["seconds"]))}
    if cmd == "reset":
        handle.reset()
        STATUS_TIMES.clear()
        return {"ok": True}
    return {"error": f"unknown command {cmd!r}"}


async def main(raw_config: str) -> None:
    config = EmulatorConfig(**json.loads(raw_config))
    config.host = "127.0.0.1"
    async with running_emulator(config) as handle:
        sys.stdout.write(json.dumps({"base_url": handle.base_url}) + "\n")
        sys.stdout.flush()
        while True:
            line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
            if not line:
                return
            try:
                command = json.loads(line)
                if command.get("cmd") == "quit":
                    sys.stdout.write(json.dumps({"ok": True}) + "\n")
                    sys.stdout.flush()
                    return
                reply = _answer(handle, command)
            except Exception as exc:  # answer, keep serving
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "{}")
