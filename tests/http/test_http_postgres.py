"""An HTTP server whose job journal lives in PostgreSQL (PHASEO_JOURNAL_URL=postgresql://…).

Uses the ``fresh_postgres_url`` fixture of tests/pgfixture.py (a private PostgreSQL server;
skips with the reason where PostgreSQL cannot run).
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from httpkit import (
    SUNRISE,
    create,
    launch,
    mcp_client,
    serve_phaseo,
    server_env,
    terminate,
)

from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import data, make_settings, text

pytestmark = pytest.mark.anyio


def _jobs_in(url: str) -> list[tuple[str | None, str | None]]:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute("SELECT video_id, status FROM jobs ORDER BY row_id").fetchall()
    return [(r[0], r[1]) for r in rows]


async def test_http_server_keeps_its_journal_in_postgresql(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, fresh_postgres_url: str
) -> None:
    """Creates are journalled in PostgreSQL (not SQLite); the duplicate guard and list use it."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    settings = make_settings(
        emulator.base_url, output_dir, state_dir, journal_url=fresh_postgres_url
    )
    async with serve_phaseo(settings, stateless=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, "legacy") as client:
                job = await create(client)
                again = await client.call_tool("create_video", dict(SUNRISE))
                listing = data(await client.call_tool("list_videos", {}))
    assert again.is_error and data(again)["failure_kind"] == "duplicate", text(again)
    assert data(again)["video_id"] == job["video_id"]
    assert [v["video_id"] for v in listing["videos"]] == [job["video_id"]]
    rows = await anyio.to_thread.run_sync(lambda: _jobs_in(fresh_postgres_url))
    assert [r[0] for r in rows] == [job["video_id"]]
    assert not list(state_dir.glob("*.sqlite3*"))
    assert emulator.counters["create"] == 1


async def test_journal_url_from_the_environment_survives_a_restart(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """`serve --transport http` with PHASEO_JOURNAL_URL: a restarted server still knows the job."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    env = server_env(
        emulator.base_url, tmp_path / "out", tmp_path / "state", journal_url=fresh_postgres_url
    )
    video_id = ""
    for round_ in range(2):
        replica = await launch(env, tmp_path / f"server{round_}.log", ["--stateless"])
        try:
            with anyio.fail_after(60):
                async with mcp_client(replica.url) as client:
                    if round_ == 0:
                        video_id = (await create(client))["video_id"]
                    else:
                        again = await client.call_tool("create_video", dict(SUNRISE))
                        assert again.is_error and data(again)["video_id"] == video_id
                        listing = data(await client.call_tool("list_videos", {}))
                        assert video_id in {v["video_id"] for v in listing["videos"]}
        finally:
            await terminate(replica)
    assert emulator.counters["create"] == 1
    assert not list((tmp_path / "state").glob("*.sqlite3*"))
