"""The emulator-only ``/_emulator/*`` control routes (documented in ``faults.py``)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from phaseo_mcp.emulator.config import JobPlan
from phaseo_mcp.emulator.faults import Faults
from phaseo_mcp.emulator.state import EmulatorState


def build_admin(state: EmulatorState, faults: Faults) -> Starlette:
    def bad(message: str) -> Response:
        return JSONResponse({"error": "bad_request", "description": message}, status_code=400)

    async def body(request: Request) -> Any:
        raw = await request.body()
        return await request.json() if raw.strip() else {}

    async def get_faults(request: Request) -> Response:
        return JSONResponse({"faults": [f.as_dict() for f in faults.pending()]})

    async def add_faults(request: Request) -> Response:
        data = await body(request)
        specs = data if isinstance(data, list) else [data]
        try:
            added = [faults.add_dict(spec) for spec in specs]
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        return JSONResponse({"added": [f.as_dict() for f in added]}, status_code=201)

    async def clear_faults(request: Request) -> Response:
        faults.clear()
        return JSONResponse({"faults": []})

    async def clock(request: Request) -> Response:
        return JSONResponse({"now": state.clock.now(), "time_scale": state.clock.time_scale})

    async def advance(request: Request) -> Response:
        data = await body(request)
        try:
            now = state.clock.advance(float(data.get("seconds", 0)))
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        return JSONResponse({"now": now, "time_scale": state.clock.time_scale})

    async def counters(request: Request) -> Response:
        if request.method == "DELETE":
            state.counters.reset()
        return JSONResponse({"counts": dict(state.counters), "total": state.counters.total()})

    async def received(request: Request) -> Response:
        return JSONResponse({"bodies": state.received.get(request.path_params["route"], [])})

    async def plans(request: Request) -> Response:
        try:
            plan = JobPlan.from_dict(await body(request))
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        state.next_plans.append(plan)
        return JSONResponse({"queued_plans": len(state.next_plans)}, status_code=201)

    async def job_plan(request: Request) -> Response:
        job = state.jobs.get(request.path_params["video_id"])
        if job is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            job.plan = JobPlan.from_dict(await body(request))
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        return JSONResponse({"id": job.id, "status": job.status})

    async def jobs(request: Request) -> Response:
        now = state.clock.now()
        return JSONResponse({"jobs": [
            {"id": j.id, "model": j.model, "status": j.raw_status(now), "phase": j.phase(now),
             "deleted": j.deleted_at is not None, "outcome": j.plan.outcome}
            for j in state.jobs.values()
        ]})  # fmt: skip

    async def reset(request: Request) -> Response:
        faults.clear()
        state.reset()
        return JSONResponse({"reset": True})

    return Starlette(
        routes=[
            Route("/_emulator/faults", get_faults, methods=["GET"]),
            Route("/_emulator/faults", add_faults, methods=["POST"]),
            Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
            Route("/_emulator/clock", clock, methods=["GET"]),
            Route("/_emulator/clock/advance", advance, methods=["POST"]),
            Route("/_emulator/counters", counters, methods=["GET", "DELETE"]),
            Route("/_emulator/received/{route}", received, methods=["GET"]),
            Route("/_emulator/plans", plans, methods=["POST"]),
            Route("/_emulator/jobs", jobs, methods=["GET"]),
            Route("/_emulator/jobs/{video_id}/plan", job_plan, methods=["POST"]),
            Route("/_emulator/reset", reset, methods=["POST"]),
        ]
    )
