"""Scale-out: two `serve --transport http --stateless` replicas share one PostgreSQL journal.

The replicas are subprocesses; the emulator runs in this process on loopback (so its counters
count every POST from both replicas); nginx round-robins between the replicas.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import (
    ROOT,
    SUNRISE,
    Progress,
    Replica,
    create,
    mcp_client,
    nginx_binary,
    replica_pair,
    running_nginx,
    terminate,
    wait_done,
)
from mcp import Client
from mcp.types import CallToolResult

from phaseo_mcp.emulator import EmulatorHandle, JobPlan

from helpers import data, text

pytestmark = [pytest.mark.anyio, pytest.mark.system]  # nginx in front of two replicas
TOKEN = "replica-token-0123456789abcdef"


@asynccontextmanager
async def two_replicas(
    emulator: EmulatorHandle,
    tmp_path: Path,
    journal_url: str,
    extra: dict[str, str] | None = None,
    *,
    slower_reads: bool = False,
) -> AsyncIterator[tuple[Replica, Replica]]:
    """``extra``: more environment for both replicas (e.g. shared PHASEO_MCP_STATE_KEYS)."""
    # The replicas divide their gateway read timeout by the time scale (60 s -> 0.6 s at 100x).
    # Where eight jobs end at the same instant on a loaded machine, a 10x scale keeps that
    # real network timeout at 6 s without changing what the test proves.
    extra = {**(extra or {}), **({"PHASEO_TIME_SCALE": "10"} if slower_reads else {})} or None
    async with replica_pair(
        emulator.base_url, tmp_path, journal_url, tokens=TOKEN, extra=extra
    ) as replicas:
        yield replicas


@contextmanager
def nginx_in_front(tmp_path: Path, replicas: tuple[Replica, Replica]) -> Iterator[str]:
    with running_nginx(tmp_path / "nginx", [r.port for r in replicas]) as nginx:
        yield nginx.base


def _client(url: str, mode: str = "auto") -> Any:
    return mcp_client(url, mode, token=TOKEN)


def _ids(result: CallToolResult) -> set[str]:
    return {v["video_id"] for v in data(result)["videos"] if v["video_id"]}


async def test_concurrent_workflows_through_nginx_with_progress(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Eight clients create → wait (progress) → download through nginx over both replicas."""
    nginx_binary()
    results: dict[int, dict[str, Any]] = {}
    progress = {n: Progress([]) for n in range(8)}
    for _ in range(8):  # they finish when the test moves the emulator's clock, not before
        emulator.plan_next_job(JobPlan(seconds=1e6))
    async with two_replicas(emulator, tmp_path, fresh_postgres_url, slower_reads=True) as (a, b):
        with nginx_in_front(tmp_path, (a, b)) as front:
            url = front + "/mcp"

            async def one(n: int) -> None:
                async with _client(url, "auto" if n % 2 else "legacy") as client:
                    job = await create(client, prompt=f"replica clip {n}: waves on a pier")
                    done = await wait_done(client, job["video_id"], progress[n])
                    saved = await client.call_tool("download_video", {"video_id": job["video_id"]})
                    assert not saved.is_error, text(saved)
                    results[n] = {"done": done, "progress": progress[n], "saved": data(saved)}

            with anyio.fail_after(120):
                async with anyio.create_task_group() as tg:
                    for n in range(8):
                        tg.start_soon(one, n)
                    while not all(p.values for p in progress.values()):  # every wait reported
                        await anyio.sleep(0.05)
                    emulator.clock.advance(1e6)
                async with _client(a.url) as on_a, _client(b.url) as on_b:
                    listed_a = await on_a.call_tool("list_videos", {"limit": 100})
                    listed_b = await on_b.call_tool("list_videos", {"limit": 100})
            access = (tmp_path / "nginx" / "access.log").read_text()
    assert sorted(results) == list(range(8))
    assert {r["done"]["status"] for r in results.values()} == {"completed"}
    # the poll that ends a wait sends no notification (the result says completed)
    assert all(r["progress"].values and r["progress"].values[-1] < 100.0 for r in results.values())
    assert all(r["saved"]["mode"] == "url" for r in results.values())
    ids = {r["done"]["video_id"] for r in results.values()}
    assert len(ids) == 8
    assert _ids(listed_a) == ids and _ids(listed_b) == ids
    assert emulator.counters["create"] == 8
    # Round robin really spread the calls over both replicas.
    assert f"127.0.0.1:{a.port}" in access and f"127.0.0.1:{b.port}" in access


async def test_duplicate_sent_to_replica_b_after_replica_a_created_is_refused(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """The duplicate guard lives in the shared journal: B refuses A's job and names it."""
    emulator.plan_next_job(JobPlan(seconds=1e6))
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b):
        with anyio.fail_after(60):
            async with _client(a.url, "legacy") as on_a:
                job = await create(on_a)
            async with _client(b.url) as on_b:
                again = await on_b.call_tool("create_video", dict(SUNRISE))
                status = await on_b.call_tool("get_video_status", {"video_id": job["video_id"]})
    assert again.is_error and data(again)["failure_kind"] == "duplicate", text(again)
    assert data(again)["video_id"] == job["video_id"]
    assert data(again)["next_call"]["tool"] == "wait_for_video"
    assert not status.is_error
    assert emulator.counters["create"] == 1


async def test_list_videos_on_either_replica_shows_every_job(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Jobs made on A and on B are listed by both (journal merged with the gateway)."""
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b):
        with anyio.fail_after(60):
            async with _client(a.url) as on_a, _client(b.url, "legacy") as on_b:
                made = {
                    (await create(on_a, prompt="made on replica a"))["video_id"],
                    (await create(on_b, prompt="made on replica b"))["video_id"],
                }
                listed_a = await on_a.call_tool("list_videos", {})
                listed_b = await on_b.call_tool("list_videos", {})
    assert _ids(listed_a) == made and _ids(listed_b) == made


async def test_identical_creates_on_two_replicas_at_once_make_one_post(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Released together, one of two identical creates wins; the gateway sees one POST."""
    rounds = 5
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b):
        with anyio.fail_after(90):
            async with _client(a.url) as on_a, _client(b.url) as on_b:
                # Warm both replicas (catalogue cached, connections open) so the two creates
                # reach the journal as close together as possible.
                await on_a.call_tool("list_video_models", {})
                await on_b.call_tool("list_video_models", {})
                for n in range(rounds):
                    before = emulator.counters["create"]
                    outcomes = await _race(on_a, on_b, {**SUNRISE, "prompt": f"race {n}"})
                    assert emulator.counters["create"] == before + 1, outcomes
                    winners = [o for o in outcomes if not o.is_error]
                    losers = [o for o in outcomes if o.is_error]
                    assert len(winners) == 1 and len(losers) == 1, [text(o) for o in outcomes]
                    assert data(losers[0])["failure_kind"] == "duplicate", text(losers[0])
                    winner_id = data(winners[0])["video_id"]
                    assert data(losers[0]).get("video_id") in (winner_id, None)
    assert emulator.counters["create"] == rounds


async def _race(a: Client, b: Client, args: dict[str, Any]) -> list[CallToolResult]:
    go = anyio.Event()
    out: list[CallToolResult] = []

    async def fire(client: Client) -> None:
        await go.wait()
        out.append(await client.call_tool("create_video", dict(args)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(fire, a)
        tg.start_soon(fire, b)
        await anyio.wait_all_tasks_blocked()  # both are waiting at the gate
        go.set()
    return out


async def test_nginx_passes_healthz_and_refuses_without_token(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Through nginx: /healthz answers, an MCP call without the bearer token gets 401."""
    nginx_binary()
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as replicas:
        with nginx_in_front(tmp_path, replicas) as front:
            async with httpx.AsyncClient(timeout=15) as http:
                health = [(await http.get(front + "/healthz")).status_code for _ in range(4)]
                refused = await http.post(
                    front + "/mcp",
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    headers={"Accept": "application/json, text/event-stream"},
                )
    assert health == [200] * 4
    assert refused.status_code == 401 and "www-authenticate" in refused.headers


async def test_calls_keep_working_through_nginx_while_a_replica_stops(
    emulator: EmulatorHandle, tmp_path: Path, fresh_postgres_url: str
) -> None:
    """Rolling restart: after replica A gets SIGTERM, every call through nginx lands on B."""
    nginx_binary()
    async with two_replicas(emulator, tmp_path, fresh_postgres_url) as (a, b):
        with nginx_in_front(tmp_path, (a, b)) as front:
            url = front + "/mcp"
            with anyio.fail_after(60):
                async with _client(url) as client:
                    job = await create(client, prompt="before the restart")
                await terminate(a)
                assert a.proc.returncode is not None
                for n in range(6):
                    async with _client(url, "auto" if n % 2 else "legacy") as client:
                        status = await client.call_tool(
                            "get_video_status", {"video_id": job["video_id"]}
                        )
                        assert not status.is_error, text(status)
                        listed = await client.call_tool("list_videos", {})
                        assert job["video_id"] in _ids(listed)
                assert b.proc.poll() is None


def test_example_nginx_config_is_valid(tmp_path: Path) -> None:
    """configs/nginx.conf passes `nginx -t` (with a throwaway certificate in place)."""
    binary = nginx_binary()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed; it makes the throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=mcp.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    text_ = (ROOT / "configs" / "nginx.conf").read_text()
    text_ = text_.replace("/etc/ssl/certs/mcp.example.com.pem", str(cert))
    text_ = text_.replace("/etc/ssl/private/mcp.example.com.key", str(key))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text_)
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf),
         "-g", f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr.decode(errors="replace")
