"""``--auth oauth`` on two stateless replicas behind nginx sharing a PostgreSQL journal: a
person's daily budget holds when their concurrent creates land on both replicas, and
another person's jobs stay out of reach on either replica."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import Replica, mcp_client, nginx_binary, replica_pair, running_nginx
from oauthkit import SCOPE, Idp, estimate_of

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import data, text

pytestmark = pytest.mark.anyio
PUBLIC = "https://mcp.example.test"  # what clients would dial; nginx stands in for it here
RESOURCE = PUBLIC + "/mcp"
RACERS = 8


@asynccontextmanager
async def oauth_replicas(
    emulator: EmulatorHandle, tmp_path: Path, journal_url: str, idp: Idp, budget: float
) -> AsyncIterator[tuple[Replica, Replica]]:
    oauth = {
        "PHASEO_AUTH": "oauth",
        "PHASEO_OAUTH_ISSUER": idp.issuer,
        "PHASEO_OAUTH_SCOPES": SCOPE,
        "PHASEO_PUBLIC_URL": PUBLIC,
        "PHASEO_DAILY_BUDGET_USD": str(budget),
    }
    async with replica_pair(emulator.base_url, tmp_path, journal_url, extra=oauth) as replicas:
        yield replicas


async def test_budget_and_isolation_across_replicas(
    settings: Settings,
    emulator: EmulatorHandle,
    idp: Idp,
    tmp_path: Path,
    fresh_postgres_url: str,
) -> None:
    """Budget = 2.5 estimates: of eight creates racing through nginx over both replicas
    exactly two are sent; Bob's budget is his own; Bob cannot read or delete Alice's job on
    either replica, and no gateway request is made for it; Bob's create with the very prompt
    of one of Alice's admitted jobs is a job of his own, not a duplicate-guard hit."""
    nginx_binary()
    estimate = await estimate_of(settings, idp)
    sent_before = emulator.counters["create"]
    alice = idp.mint(aud=RESOURCE, sub="alice")
    bob = idp.mint(aud=RESOURCE, sub="bob")
    results: list[tuple[str, Any]] = []
    async with oauth_replicas(emulator, tmp_path, fresh_postgres_url, idp, 2.5 * estimate) as (
        a,
        b,
    ):
        with running_nginx(tmp_path / "nginx", [a.port, b.port]) as nginx:
            url = nginx.base + "/mcp"

            async def racer(n: int) -> None:
                prompt = f"pier {n}"
                async with mcp_client(url, token=alice) as client:
                    arguments = {"model": "google/veo-3.1-lite", "prompt": prompt, "duration": 8}
                    results.append((prompt, await client.call_tool("create_video", arguments)))

            with anyio.fail_after(120):
                async with anyio.create_task_group() as tg:
                    for n in range(RACERS):
                        tg.start_soon(racer, n)
                sent_by_race = emulator.counters["create"] - sent_before
                alices = [data(r)["video_id"] for _, r in results if not r.is_error]
                same_prompt = next(p for p, r in results if not r.is_error)
                async with mcp_client(url, token=bob) as client:
                    bobs = await client.call_tool(
                        "create_video",
                        {"model": "google/veo-3.1-lite", "prompt": same_prompt, "duration": 8},
                    )
                statuses = emulator.counters["status"]
                reached = []
                for replica in (a, b):
                    async with mcp_client(replica.url, token=bob) as client:
                        listed = data(await client.call_tool("list_videos", {}))
                        for video_id in alices:
                            for tool in ("get_video_status", "delete_video"):
                                got = await client.call_tool(tool, {"video_id": video_id})
                                reached.append((got.is_error, data(got).get("failure_kind")))
                        reached.append(("listed", tuple(v["video_id"] for v in listed["videos"])))
                looked_up = emulator.counters["status"] - statuses
            access = (tmp_path / "nginx" / "access.log").read_text()
    refused = [r for _, r in results if r.is_error]
    assert len(alices) == 2 and sent_by_race == 2, [text(r) for _, r in results]
    assert all(data(r)["failure_kind"] == "over_budget" for r in refused)
    assert not bobs.is_error, text(bobs)
    bob_id = data(bobs)["video_id"]
    assert bob_id not in alices  # a job of his own, though Alice made the same request
    assert all(x == (True, "not_found") for x in reached if x[0] != "listed"), reached
    assert [x[1] for x in reached if x[0] == "listed"] == [(bob_id,), (bob_id,)]
    assert looked_up == 0
    assert f"127.0.0.1:{a.port}" in access and f"127.0.0.1:{b.port}" in access
