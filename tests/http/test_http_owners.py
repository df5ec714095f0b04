"""Owners on one --multi-user HTTP server: own folders, own quotas, own redaction.

Several keys race for the same file names and each gets its own file in its own folder; a
name that exists for one key is a free name for another. A quota is enforced before any
byte is fetched. A value one caller sends (its key) never changes what another caller reads,
and a key the gateway rejects is answered with the header to fix, not an env var.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import SUNRISE, create, mcp_client, serve_phaseo, wait_done
from journal_v1 import write_old_sqlite_journal

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.jobs.fingerprint import key_fingerprint
from phaseo_mcp.jobs.owner import key_owner
from phaseo_mcp.server.http import HttpOptions

from helpers import TEST_KEY, data, text

pytestmark = pytest.mark.anyio
HEADER = "X-Phaseo-Api-Key"
KEYS = [f"phaseo_v1_sk_user{n}_{'k' * 20}{n:04d}" for n in range(3)]
NAMES = ["clip.mp4", "sunrise.mp4"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_keys_racing_for_the_same_names_each_get_their_own_files(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Three keys download to the same two names at once, twice each: every key's files are
    in its own folder (named by a hash, never the key), with the bytes its results report;
    nobody is told a name is taken because another key used it."""
    results: dict[str, list[dict[str, Any]]] = {key: [] for key in KEYS}
    errors: list[str] = []
    async with serve_phaseo(settings, multi_user=True, server_files=True) as served:

        async def run(key: str) -> None:
            async with mcp_client(served.url, headers={HEADER: key}) as client:
                job = await create(client, prompt=f"{key[-4:]}: a lighthouse in fog")
                await wait_done(client, job["video_id"])

                async def save(name: str) -> None:
                    got = await client.call_tool(
                        "download_video",
                        {"video_id": job["video_id"], "filename": name, "mode": "file"},
                    )
                    if got.is_error:
                        errors.append(text(got))
                    else:
                        results[key].append(data(got))

                async with anyio.create_task_group() as tg:
                    for name in NAMES * 2:
                        tg.start_soon(save, name)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for key in KEYS:
                    tg.start_soon(run, key)
    assert not errors, errors
    assert sorted(p.name for p in output_dir.iterdir()) == sorted(key_owner(k).id for k in KEYS)
    for key in KEYS:
        folder = output_dir / key_owner(key).id
        assert key not in str(folder)
        assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)
        for result in results[key]:
            (saved,) = result["files"]
            path = Path(saved["path"])
            assert path.parent == folder
            assert sha256(path) == saved["sha256"] and path.stat().st_size == saved["bytes"]


async def test_quota_is_enforced_before_the_transfer_and_per_owner(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """With a quota that holds one video, a key's second file is refused with over_quota
    before any content request; another key still has its whole quota."""
    options = HttpOptions(multi_user=True, server_files=True, server_files_quota=1)
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[0]}) as probe:
                job = await create(probe)
                await wait_done(probe, job["video_id"])
                status = data(
                    await probe.call_tool("get_video_status", {"video_id": job["video_id"]})
                )
    size = status["outputs"][0]["bytes"] if status.get("outputs") else None
    assert size, status
    options = HttpOptions(multi_user=True, server_files=True, server_files_quota=size + size // 2)
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[0]}) as a:
                first = await a.call_tool(
                    "download_video", {"video_id": job["video_id"], "filename": "one.mp4"}
                )
                fetched = emulator.counters["content"]
                second = await a.call_tool(
                    "download_video", {"video_id": job["video_id"], "filename": "two.mp4"}
                )
                after = emulator.counters["content"]
            async with mcp_client(served.url, headers={HEADER: KEYS[1]}) as b:
                job_b = await create(b)
                await wait_done(b, job_b["video_id"])
                other = await b.call_tool(
                    "download_video", {"video_id": job_b["video_id"], "filename": "one.mp4"}
                )
    assert not first.is_error, text(first)
    assert second.is_error and data(second)["failure_kind"] == "over_quota", text(second)
    assert "quota" in text(second) and data(second)["next_call"]["arguments"]["mode"] == "url"
    assert after == fetched
    assert not (output_dir / key_owner(KEYS[0]).id / "two.mp4").exists()
    assert not other.is_error, text(other)


async def test_concurrent_downloads_cannot_squeeze_past_the_quota_together(
    settings: Settings, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Four downloads to different names at once under a quota that holds one video: one
    saves, three are refused with over_quota, and the folder holds one file."""
    async with serve_phaseo(settings, multi_user=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[2]}) as probe:
                job = await create(probe)
                await wait_done(probe, job["video_id"])
                link = data(await probe.call_tool("download_video", {"video_id": job["video_id"]}))
    size = link["files"][0]["bytes"]
    options = HttpOptions(multi_user=True, server_files=True, server_files_quota=size + size // 2)
    outcomes: list[Any] = []
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[2]}) as client:

                async def save(n: int) -> None:
                    args = {"video_id": job["video_id"], "filename": f"copy{n}.mp4"}
                    outcomes.append(await client.call_tool("download_video", args))

                async with anyio.create_task_group() as tg:
                    for n in range(4):
                        tg.start_soon(save, n)
    saved = [r for r in outcomes if not r.is_error]
    refused = [r for r in outcomes if r.is_error]
    assert len(saved) == 1 and len(refused) == 3, [text(r) for r in outcomes]
    assert all(data(r)["failure_kind"] == "over_quota" for r in refused)
    assert len(list((output_dir / key_owner(KEYS[2]).id).iterdir())) == 1


async def test_a_callers_key_never_rewrites_another_callers_messages(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """Caller A sends a 'key' equal to a word in B's messages; B's messages are unchanged,
    and A's rejected key is answered with the header to fix, not an environment variable."""
    async with serve_phaseo(settings, multi_user=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: "gateway"}) as a:
                rejected = await a.call_tool("get_video_status", {"video_id": "G-nothere1"})
            async with mcp_client(served.url, headers={HEADER: KEYS[1]}) as b:
                missing = await b.call_tool("get_video_status", {"video_id": "G-nothere1"})
    assert rejected.is_error and data(rejected)["failure_kind"] == "auth", text(rejected)
    assert "gateway" not in text(rejected)  # A's own "key" is redacted in A's messages
    assert HEADER in text(rejected) and "PHASEO_API_KEY" not in text(rejected)
    assert missing.is_error and data(missing)["failure_kind"] == "not_found"
    assert "The gateway has no video" in text(missing) and "[redacted]" not in text(missing)


async def test_http_errors_do_not_reveal_the_servers_paths_without_server_files(
    settings: Settings, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A journal that cannot be opened is reported over HTTP (a refused create, a listing's
    warning) without the server's absolute state directory: it is named "the server's state
    directory" instead."""
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state directory should be")
    hidden = settings.model_copy(update={"state_dir": blocked / "state"})
    async with serve_phaseo(hidden, multi_user=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[0]}) as client:
                refused = await client.call_tool("create_video", dict(SUNRISE))
                listed = await client.call_tool("list_videos", {})
    assert refused.is_error and data(refused)["failure_kind"] == "config", text(refused)
    assert not listed.is_error and data(listed)["warning"], text(listed)
    for result in (refused, listed):
        assert "journal" in text(result) and "the server's state directory" in text(result)
        assert str(tmp_path) not in text(result) and str(tmp_path) not in str(data(result))
    assert emulator.counters["create"] == 0


async def test_jobs_journaled_before_owners_are_listed_for_their_owner(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """A journal written by the release before owners: the operator's jobs are listed by a
    single-user server (owner local), each key's jobs by that key under --multi-user, and
    nobody sees another's."""
    write_old_sqlite_journal(
        settings.journal_path,
        [
            (key_fingerprint(TEST_KEY), "G-old-stdio-1", "completed"),
            (key_fingerprint(TEST_KEY), "G-old-stdio-2", "processing"),
            (key_fingerprint(KEYS[0]), "G-old-user-0", "completed"),
        ],
    )
    listed: dict[str, set[str]] = {}
    with anyio.fail_after(60):
        async with serve_phaseo(settings) as served:
            async with mcp_client(served.url) as local:
                listed["local"] = ids_of(await local.call_tool("list_videos", {}))
        async with serve_phaseo(settings, multi_user=True) as served:
            for n, key in enumerate(KEYS[:2]):
                async with mcp_client(served.url, headers={HEADER: key}) as client:
                    listed[f"user{n}"] = ids_of(await client.call_tool("list_videos", {}))
    assert listed == {
        "local": {"G-old-stdio-1", "G-old-stdio-2"},
        "user0": {"G-old-user-0"},
        "user1": set(),
    }


async def test_a_callers_webhook_secret_is_redacted_for_it_and_for_nobody_else(
    settings: Settings, emulator: EmulatorHandle
) -> None:
    """A's webhook secret, echoed by the gateway, is redacted in A's result; B's later error
    quoting the same word is left as the gateway wrote it."""
    secret = "lighthouse"
    echo = f"bad webhook secret {secret}"
    hook = {"url": "https://hooks.example.com/phaseo", "secret": secret}
    async with serve_phaseo(settings, multi_user=True) as served:
        with anyio.fail_after(60):
            async with mcp_client(served.url, headers={HEADER: KEYS[0]}) as a:
                emulator.faults.add(route="create", kind="http", status=400, description=echo)
                mine = await a.call_tool("create_video", {**SUNRISE, "webhook": hook})
            async with mcp_client(served.url, headers={HEADER: KEYS[1]}) as b:
                emulator.faults.add(route="create", kind="http", status=400, description=echo)
                theirs = await b.call_tool("create_video", dict(SUNRISE))
    assert mine.is_error and "bad webhook secret" in text(mine) and secret not in text(mine)
    assert theirs.is_error and echo in text(theirs), text(theirs)


def ids_of(result: Any) -> set[str]:
    assert not result.is_error, text(result)
    return {v["video_id"] for v in data(result)["videos"] if v["video_id"]}
