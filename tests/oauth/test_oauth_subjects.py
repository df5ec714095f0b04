"""Two people signed in to one ``--auth oauth`` server (one team gateway key): each sees and
touches only their own jobs and files, another person's job id answers exactly like an id
that never existed (and is never looked up at the gateway), and identical prompts from two
people make two jobs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import SUNRISE, create, mcp_client, wait_done
from mcp import Client
from oauthkit import Idp, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.jobs.owner import oauth_owner
from phaseo_mcp.server.http import HttpOptions

from helpers import TEST_KEY, data, text

pytestmark = pytest.mark.anyio
GATEWAY_BY_ID = ("status", "delete", "download_url", "content")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def attempts(client: Client, video_id: str) -> dict[str, Any]:
    """Every way to reach one job: the tool results (and the resource read's error)."""
    out: dict[str, Any] = {}
    for tool, args in (
        ("get_video_status", {}),
        ("wait_for_video", {"timeout_seconds": 1}),
        ("download_video", {"mode": "file", "filename": "clip.mp4"}),
        ("download_video", {"mode": "url"}),
        ("delete_video", {}),
    ):
        result = await client.call_tool(tool, {"video_id": video_id, **args})
        out[f"{tool}:{args.get('mode', '')}"] = (
            result.is_error,
            data(result).get("failure_kind"),
            text(result).replace(video_id, "<id>"),
        )
    try:
        await client.read_resource(f"phaseo://videos/{video_id}")
        out["resource"] = "read"
    except Exception as exc:  # the SDK raises the server's JSON-RPC error
        out["resource"] = str(exc).replace(video_id, "<id>")
    return out


async def _made_and_saved(client: Client, video_id: str) -> dict[str, Any]:
    """Wait for the job to finish, then save it as clip.mp4 in the caller's folder."""
    await wait_done(client, video_id)
    arguments = {"video_id": video_id, "mode": "file", "filename": "clip.mp4"}
    return data(await client.call_tool("download_video", arguments))


async def test_people_see_only_their_own_jobs_and_files(
    settings: Settings, emulator: EmulatorHandle, idp: Idp, output_dir: Path
) -> None:
    """Bob cannot list, read, wait on, download, delete or read as a resource Alice's job:
    each answer equals the one for a never-existing id, with no gateway request for it;
    each person's files go to a folder named by the hash of issuer and subject, and Bob
    saving the same name never touches Alice's file."""
    options = HttpOptions(server_files=True)
    async with serve_oauth(settings, idp, options=options) as served:
        alice = idp.mint(aud=served.url, sub="alice@example.com")
        bob = idp.mint(aud=served.url, sub="bob@example.com")
        with anyio.fail_after(120):
            async with mcp_client(served.url, token=alice) as a:
                job = await create(a)
                saved = await _made_and_saved(a, job["video_id"])
            async with mcp_client(served.url, token=bob) as b:
                listed = data(await b.call_tool("list_videos", {}))
                before = {r: emulator.counters[r] for r in GATEWAY_BY_ID}
                theirs = await attempts(b, job["video_id"])
                after = {r: emulator.counters[r] for r in GATEWAY_BY_ID}
                never = await attempts(b, "G-never-existed-0000")
                own = await create(b, prompt="bob's own lake")
                bobs = await _made_and_saved(b, own["video_id"])
            async with mcp_client(served.url, token=alice) as a:
                still = data(await a.call_tool("get_video_status", {"video_id": job["video_id"]}))
                mine = data(await a.call_tool("list_videos", {}))
    assert listed["videos"] == [], listed
    assert theirs == never, (theirs, never)
    assert all(v[0] and v[1] == "not_found" for k, v in theirs.items() if k != "resource")
    assert theirs["resource"] != "read"
    assert after == before, "another person's job id was looked up at the gateway"
    assert still["status"] == "completed"  # Bob's delete never reached it
    assert [v["video_id"] for v in mine["videos"]] == [job["video_id"]]
    folders = {p.name for p in output_dir.iterdir()}
    a_id = oauth_owner(idp.issuer, "alice@example.com", TEST_KEY).id
    b_id = oauth_owner(idp.issuer, "bob@example.com", TEST_KEY).id
    assert folders == {a_id, b_id}, folders
    assert not any("alice" in f or "bob" in f for f in folders)
    (a_file,) = saved["files"]
    (b_file,) = bobs["files"]
    assert Path(a_file["path"]).parent == output_dir / a_id
    assert Path(b_file["path"]).parent == output_dir / b_id
    assert Path(a_file["path"]).name == Path(b_file["path"]).name == "clip.mp4"
    assert sha256(Path(a_file["path"])) == a_file["sha256"]


async def test_identical_prompts_from_two_people_make_two_jobs(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """The duplicate guard is per person: the same request from Alice and from Bob makes two
    jobs; Alice sending it again is caught as her own duplicate."""
    async with serve_oauth(settings, idp) as served:
        tokens = {who: idp.mint(aud=served.url, sub=who) for who in ("alice", "bob")}
        with anyio.fail_after(60):
            made = {}
            for who, token in tokens.items():
                async with mcp_client(served.url, token=token) as client:
                    made[who] = await create(client)
            async with mcp_client(served.url, token=tokens["alice"]) as client:
                again = await client.call_tool("create_video", SUNRISE)
    assert made["alice"]["video_id"] != made["bob"]["video_id"]
    assert again.is_error and data(again)["failure_kind"] == "duplicate", text(again)
    assert data(again)["video_id"] == made["alice"]["video_id"]
    assert emulator.counters["create"] == 2
