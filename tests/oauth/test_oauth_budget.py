"""Per-person daily budgets on a ``--auth oauth`` server: concurrent creates never admit more
than the budget, a failed job gives its reservation back, a refusal says what was spent and
when the limit resets (and sends nothing), and another person has their own budget."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from httpkit import create, mcp_client, wait_done
from oauthkit import Idp, estimate_of, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.emulator.config import JobPlan

from helpers import data, text

pytestmark = pytest.mark.anyio
RACERS = 6


async def test_daily_budget_holds_under_concurrent_creates(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """Budget = 2.5 estimates. Alice's first job fails (settled at $0), then six creates
    race: exactly two are admitted, four refused as over_budget with the amount spent and
    the reset time, none of them sent; Bob still has his whole budget."""
    with anyio.fail_after(120):
        estimate = await estimate_of(settings, idp)
        limit = 2.5 * estimate
        async with serve_oauth(settings, idp, daily_budget_usd=limit) as served:
            alice = idp.mint(aud=served.url, sub="alice")
            async with mcp_client(served.url, token=alice) as a:
                emulator.plan_next_job(JobPlan(outcome="provider_error"))
                failed = await create(a, prompt="the one that fails")
                assert (await wait_done(a, failed["video_id"]))["status"] == "failed"
                sent_before = emulator.counters["create"]
                results: list[Any] = []

                async def racer(n: int) -> None:
                    results.append(
                        await a.call_tool(
                            "create_video",
                            {"model": "google/veo-3.1-lite", "prompt": f"lake {n}", "duration": 8},
                        )
                    )

                async with anyio.create_task_group() as tg:
                    for n in range(RACERS):
                        tg.start_soon(racer, n)
                sent_by_race = emulator.counters["create"] - sent_before
            async with mcp_client(served.url, token=idp.mint(aud=served.url, sub="bob")) as b:
                bobs = await b.call_tool(
                    "create_video", {"model": "google/veo-3.1-lite", "prompt": "b", "duration": 8}
                )
    admitted = [r for r in results if not r.is_error]
    refused = [r for r in results if r.is_error]
    assert len(admitted) == 2, [text(r) for r in results]
    assert sent_by_race == 2
    for result in refused:
        assert data(result)["failure_kind"] == "over_budget", text(result)
        words = text(result)
        assert f"${2 * estimate:.2f} is spent or reserved today" in words, words
        assert "resets at" in words and "UTC" in words and "Nothing was sent" in words
    assert not bobs.is_error, text(bobs)
