"""The API key and webhook secrets appear nowhere: not in results, not in DEBUG logs, not in
the journal, not in the output directory — across every tool and a spread of faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import TEST_KEY, call, stdio_params

pytestmark = pytest.mark.anyio
# No recognisable prefix: only its registration as a secret can keep it out of the logs.
WEBHOOK_SECRET = "plain-signing-value-7f3a9c2e51b8d4"
SUNRISE = {"model": "google/veo-3.1-lite", "prompt": "a secretive sunrise", "duration": 8}


async def test_no_secret_in_results_logs_journal_or_files(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """The API key appears in no result, debug log, journal or file of a whole workflow."""
    out, state = tmp_path / "out", tmp_path / "state"
    errlog = (tmp_path / "stderr.log").open("w")
    params = stdio_params(emulator.base_url, out, state, PHASEO_LOG_LEVEL="DEBUG")
    seen: list[str] = []
    try:
        async with Client(stdio_client(params, errlog=errlog)) as client:

            async def run(tool: str, args: dict) -> dict:
                result = await call(client, tool, args)
                seen.append(result.model_dump_json())
                return dict(result.structured_content or {})

            await run("list_video_models", {})
            hook = {"url": "https://hooks.example.com/phaseo", "secret": WEBHOOK_SECRET}
            job = await run("create_video", {**SUNRISE, "webhook": hook})
            video_id = job["video_id"]
            await run("get_video_status", {"video_id": video_id})
            await run("wait_for_video", {"video_id": video_id})
            emulator.clock.advance(10_000)
            await run("download_video", {"video_id": video_id})
            await run("download_video", {"video_id": video_id, "mode": "url"})
            await run("list_videos", {})
            await run("delete_video", {"video_id": video_id})
            for route, status in [("create", 401), ("status", 500), ("models", 429), ("list", 502)]:
                emulator.faults.add(route=route, kind="http", status=status, count=10)
            await run("create_video", {**SUNRISE, "prompt": "another", "webhook": hook})
            await run("get_video_status", {"video_id": video_id})
            await run("list_video_models", {"params": ["seed"]})
            await run("list_videos", {})
            emulator.faults.clear()
            emulator.faults.add(route="create", kind="create_then_drop")
            await run("create_video", {**SUNRISE, "prompt": "dropped", "webhook": hook})
            emulator.plan_next_job(JobPlan(outcome="provider_error"))
            failed = await run("create_video", {**SUNRISE, "prompt": "will fail"})
            emulator.clock.advance(10_000)
            await run("wait_for_video", {"video_id": failed["video_id"]})
            await run("wait_for_video", {"video_id": "G-nope", "timeout_seconds": 1})
    finally:
        errlog.close()
    assert any(WEBHOOK_SECRET in json.dumps(b) for b in emulator.received["create"])  # sent
    haystacks = {"results": "\n".join(seen), "stderr": (tmp_path / "stderr.log").read_text()}
    assert "DEBUG" in haystacks["stderr"] or "INFO" in haystacks["stderr"]
    for path in list(state.rglob("*")) + list(out.rglob("*")):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes().decode("latin-1")
    assert any("journal" in name for name in haystacks)
    for name, hay in haystacks.items():
        for secret in (TEST_KEY, WEBHOOK_SECRET, TEST_KEY.rsplit("_", 1)[-1]):
            assert secret not in hay, f"secret found in {name}"


async def test_gateway_errors_that_echo_a_secret_are_redacted(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A gateway description quoting the key or the webhook secret reaches the agent redacted."""
    hook = {"url": "https://hooks.example.com/phaseo", "secret": WEBHOOK_SECRET}
    echo = f"bad webhook secret {WEBHOOK_SECRET} for key {TEST_KEY}"
    emulator.faults.add(route="create", kind="http", status=400, description=echo)
    result = await call(client, "create_video", {**SUNRISE, "webhook": hook})
    assert result.is_error and emulator.counters["create"] == 1
    dumped = result.model_dump_json()
    assert "bad webhook secret" in dumped  # the description is quoted ...
    assert WEBHOOK_SECRET not in dumped and TEST_KEY not in dumped  # ... without the secrets
