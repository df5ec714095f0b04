"""A local emulator of the Phaseo gateway's async video API, on loopback, with faults on demand.

Written from the API documents (shared/phaseo-api.md and the gateway's OpenAPI), not from the
server's models, so a misreading in ``phaseo_mcp.gateway`` fails tests instead of being
mirrored. Nothing in ``phaseo_mcp.gateway``, ``jobs`` or ``server`` imports this package.

    async with running_emulator(EmulatorConfig(time_scale=100)) as emu:
        emu.base_url            # http://127.0.0.1:PORT/v1
        emu.faults.add("status", "http", status=503, count=2)
        emu.plan_next_job(JobPlan(outcome="moderation"))
        emu.clock.advance(30)
        emu.counters["status"]

The control surface (Python and the ``/_emulator`` admin routes) is documented in ``faults.py``.
"""

from phaseo_mcp.emulator.config import EmulatorConfig, JobPlan, WebhookEndpoint
from phaseo_mcp.emulator.faults import Fault, Faults
from phaseo_mcp.emulator.harness import EmulatorHandle, running_emulator
from phaseo_mcp.emulator.state import Clock, Counters, Job, RecordedRequest

__all__ = [
    "Clock",
    "Counters",
    "EmulatorConfig",
    "EmulatorHandle",
    "Fault",
    "Faults",
    "Job",
    "JobPlan",
    "RecordedRequest",
    "WebhookEndpoint",
    "running_emulator",
]
