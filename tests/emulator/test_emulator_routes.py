"""Every documented route of the emulator, over real HTTP."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.emulator.assets import sample_bytes

from emu_helpers import CREATE, KEY, OTHER, client, create, finish

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=0.0)  # frozen: only clock.advance moves jobs


async def test_create_returns_202_with_a_queued_video_object(emulator: EmulatorHandle) -> None:
    """POST /videos answers 202 with a G- id, polling URL and no bytes."""
    async with client(emulator) as c:
        job = await create(c, duration=8, aspect_ratio="16:9")
    assert job["id"].startswith("G-")
    assert job["object"] == "video"
    assert job["status"] == "queued" and job["lifecycle_status"] == "pending"
    assert job["polling_url"] == f"{emulator.base_url}/videos/{job['id']}"
    assert job["poll_after_seconds"] == 2
    assert job["asset"] is None and job["outputs"] == []
    assert job["download_url"] is None
    assert emulator.counters["create"] == 1
    assert emulator.received["create"] == [{**CREATE, "duration": 8, "aspect_ratio": "16:9"}]


async def test_job_progresses_then_completes_with_asset_and_outputs(
    emulator: EmulatorHandle,
) -> None:
    """Progress rises with emulated time; completion carries asset, outputs, usage, billing."""
    async with client(emulator) as c:
        job = await create(c)
        emulator.clock.advance(5)
        mid = (await c.get(f"/videos/{job['id']}")).json()
        assert mid["status"] == "processing" and 0 < mid["progress"] < 100
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["asset"]["sha256"] == hashlib.sha256(sample_bytes()).hexdigest()
    assert done["asset"]["bytes"] == len(sample_bytes())
    assert done["asset"]["mime_type"] == "video/mp4"
    assert [o["index"] for o in done["outputs"]] == [0]
    assert done["usage"]["cost"] == pytest.approx(0.4)  # 8 s x 0.05
    assert done["billing"]["state"] == "settled"
    assert isinstance(done["completed_at"], int)


async def test_content_is_409_before_completion_and_the_mp4_after(
    emulator: EmulatorHandle,
) -> None:
    """/content: 409 not_ready while running, then video/mp4 with Content-Length."""
    async with client(emulator) as c:
        job = await create(c)
        early = await c.get(f"/videos/{job['id']}/content")
        assert early.status_code == 409
        assert early.json()["error"] == "not_ready"
        assert early.json()["reason"] == "video_not_ready"
        await finish(emulator)
        response = await c.get(f"/videos/{job['id']}/content")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content == sample_bytes()
    assert response.headers["cache-control"] == "private, no-store"
    assert emulator.counters["content"] == 2


async def test_several_samples_have_different_bytes(emulator: EmulatorHandle) -> None:
    """One outputs[] entry per sample, each with its own bytes and sha256."""
    async with client(emulator) as c:
        job = await create(c, sample_count=2)
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
        first = await c.get(f"/videos/{job['id']}/content")
        second = await c.get(f"/videos/{job['id']}/content", params={"index": 1})
        missing = await c.get(f"/videos/{job['id']}/content", params={"index": 2})
    assert len(done["outputs"]) == 2
    assert done["outputs"][1]["content_url"].endswith("/content?index=1")
    assert first.content != second.content
    assert second.content.startswith(sample_bytes())
    assert hashlib.sha256(second.content).hexdigest() == done["outputs"][1]["sha256"]
    assert missing.status_code == 400


async def test_download_url_is_signed_clamped_and_usable_without_auth(
    emulator: EmulatorHandle,
) -> None:
    """download_url: 400 before completion, TTL clamped 60–3600, no auth needed, expiry."""
    async with client(emulator) as c:
        job = await create(c)
        early = await c.post(f"/videos/{job['id']}/download_url")
        assert early.status_code == 400
        assert early.json()["reason"] == "video_download_requires_completed_status"
        await finish(emulator)
        short = await c.post(f"/videos/{job['id']}/download_url", json={"ttl_seconds": 5})
        long = await c.post(f"/videos/{job['id']}/download_url", json={"ttl_seconds": 99999})
        default = await c.post(f"/videos/{job['id']}/download_url", json={"disposition": "inline"})
        bad = await c.post(f"/videos/{job['id']}/download_url", json={"disposition": "x"})
    now = int(emulator.clock.now())
    assert short.json()["expires_at"] - now in (60, 59)
    assert long.json()["expires_at"] - now in (3600, 3599)
    assert default.json()["expires_at"] - now in (900, 899)
    assert bad.status_code == 400
    async with httpx.AsyncClient() as anon:
        got = await anon.get(default.json()["download_url"])
        assert got.status_code == 200 and got.content == sample_bytes()
        assert got.headers["content-disposition"].startswith("inline")
        tampered = default.json()["download_url"].replace("download_sig=", "download_sig=0")
        assert (await anon.get(tampered)).status_code == 403
        emulator.clock.advance(901)
        expired = await anon.get(default.json()["download_url"])
    assert expired.status_code == 403 and expired.json()["reason"] == "signed_download_expired"
    assert emulator.counters["signed_content"] == 3
    assert emulator.counters["download_url"] == 5


async def test_signed_url_access_refuses_unsigned_content(emulator: EmulatorHandle) -> None:
    """output.access=signed_url: no content_url, and /content with a key is refused."""
    async with client(emulator) as c:
        job = await create(c, output={"access": "signed_url"})
        assert "content_url" not in job
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
        refused = await c.get(f"/videos/{job['id']}/content")
        assert refused.status_code == 400
        assert "content_url" not in done["outputs"][0]
        signed = await c.get(done["download_url"])
    assert signed.status_code == 200


async def test_bytes_access_has_no_download_url(emulator: EmulatorHandle) -> None:
    """output.access=bytes: only content_url is given."""
    async with client(emulator) as c:
        job = await create(c, output={"access": "bytes"})
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
    assert "download_url" not in done and "content_url" in done
    assert "download_url" not in done["outputs"][0]


async def test_keys_shapes_and_ownership(emulator: EmulatorHandle) -> None:
    """Documented key shapes pass, others get 401; another key's job is 404."""
    async with client(emulator, key=None) as anon:
        missing = await anon.get("/videos")
    async with client(emulator, key="sk-not-a-phaseo-key") as bad:
        wrong = await bad.get("/videos")
    assert missing.status_code == wrong.status_code == 401
    assert wrong.json()["error"] == "unauthorised"
    async with client(emulator) as mine, client(emulator, key=OTHER) as theirs:
        job = await create(mine)
        stolen = await theirs.get(f"/videos/{job['id']}")
        listed = (await theirs.get("/videos")).json()
    assert stolen.status_code == 404
    assert stolen.json()["reason"] == "video_not_found_or_not_owned"
    assert listed["data"] == []


async def test_allowed_keys_restricts_to_the_list() -> None:
    """With allowed_keys, a well-shaped key not on the list is refused."""
    from phaseo_mcp.emulator import running_emulator

    async with running_emulator(EmulatorConfig(allowed_keys=[KEY])) as emu:
        async with client(emu) as ok, client(emu, key=OTHER) as other:
            assert (await ok.get("/videos")).status_code == 200
            assert (await other.get("/videos")).status_code == 401


async def test_list_filters_pages_and_orders(emulator: EmulatorHandle) -> None:
    """GET /videos: limit, after cursor, has_more, status filter with aliases, order."""
    async with client(emulator) as c:
        first = await create(c)
        await finish(emulator)
        ids = [first["id"]] + [(await create(c))["id"] for _ in range(4)]
        page = (await c.get("/videos", params={"limit": 2})).json()
        assert [v["id"] for v in page["data"]] == ids[::-1][:2]
        assert page["has_more"] is True and page["last_id"] == ids[3]
        rest = (await c.get("/videos", params={"limit": 10, "after": page["last_id"]})).json()
        assert [v["id"] for v in rest["data"]] == ids[::-1][2:]
        assert rest["has_more"] is False
        asc = (await c.get("/videos", params={"order": "asc"})).json()
        assert asc["first_id"] == ids[0]
        done = (await c.get("/videos", params={"status": "succeeded"})).json()
        assert [v["id"] for v in done["data"]] == [ids[0]]
        both = (await c.get("/videos?status=pending&status=completed")).json()
        assert len(both["data"]) == 5
        comma = (await c.get("/videos", params={"status": "queued,error"})).json()
        assert len(comma["data"]) == 4
        bad = await c.get("/videos", params={"status": "sideways"})
        assert bad.status_code == 400
        assert (await c.get("/videos", params={"limit": 0})).status_code == 400


async def test_models_catalogue_and_params_filter(emulator: EmulatorHandle) -> None:
    """GET /videos/models lists the docs' ids; params filters by support, aliases included."""
    async with client(emulator) as c:
        everything = (await c.get("/videos/models")).json()
        ids = {m["model"] for m in everything["data"]}
        assert {"google/veo-3.1-lite", "openai/sora-2", "openai/sora"} <= ids
        lite = next(m for m in everything["data"] if m["model"] == "google/veo-3.1-lite")
        detail = lite["supported_parameters_detail"]["duration"]
        assert detail["values"] == [4, 6, 8] and detail["supported"] is True
        assert "supported_params" not in lite  # only the preferred alias on this one
        sora = next(m for m in everything["data"] if m["model"] == "openai/sora-2")
        assert "supported_parameters" not in sora and "supported_params_detail" in sora
        last = (await c.get("/videos/models", params={"params": "last_frame"})).json()
        assert [m["model"] for m in last["data"]] == ["google/veo-3.1"]
        both = (await c.get("/videos/models?params=last_frame,sample_count")).json()
        assert [m["model"] for m in both["data"]] == ["google/veo-3.1"]
        sized = (await c.get("/videos/models", params={"params": "size"})).json()
        assert len(sized["data"]) == len(everything["data"])  # size matches resolution
        alias = (await c.get("/video/generations/models")).json()
    assert alias == everything
    assert emulator.counters["models"] == 5


async def test_delete_only_terminal_then_404_deleted(emulator: EmulatorHandle) -> None:
    """DELETE refuses running jobs, tombstones terminal ones; GET then says video_deleted."""
    async with client(emulator) as c:
        job = await create(c)
        running = await c.delete(f"/videos/{job['id']}")
        assert running.status_code == 400
        assert running.json()["reason"] == "video_delete_requires_terminal_status"
        await finish(emulator)
        deleted = await c.delete(f"/videos/{job['id']}")
        assert deleted.json() == {"id": job["id"], "object": "video.deleted", "deleted": True}
        gone = await c.get(f"/videos/{job['id']}")
        content = await c.get(f"/videos/{job['id']}/content")
    assert gone.status_code == 404 and gone.json()["reason"] == "video_deleted"
    assert content.status_code == 404


async def test_cancel_is_501(emulator: EmulatorHandle) -> None:
    """POST /cancel answers the structured 501 on both paths."""
    async with client(emulator) as c:
        job = await create(c)
        one = await c.post(f"/videos/{job['id']}/cancel")
        two = await c.post(f"/video/generations/{job['id']}/cancel")
    assert one.status_code == two.status_code == 501
    assert one.json()["error"] == "not_implemented_yet"
    assert emulator.counters["cancel"] == 2


async def test_alias_paths_behave_the_same(emulator: EmulatorHandle) -> None:
    """/video/generations/... routes count under the same names and answer the same."""
    async with client(emulator) as c:
        response = await c.post("/video/generations", json=CREATE)
        assert response.status_code == 202
        vid = response.json()["id"]
        await finish(emulator)
        status = await c.get(f"/video/generations/{vid}")
        content = await c.get(f"/video/generations/{vid}/content")
        url = await c.post(f"/video/generations/{vid}/download_url")
        listed = await c.get("/video/generations")
        gone = await c.delete(f"/video/generations/{vid}")
    assert status.json()["status"] == "completed"
    assert content.content == sample_bytes()
    assert "download_url" in url.json()
    assert listed.json()["data"][0]["id"] == vid
    assert gone.json()["deleted"] is True
    counts = emulator.counters
    names = ("create", "status", "content", "download_url", "list", "delete")
    assert [counts[n] for n in names] == [1] * 6
    assert counts.total() == 6
    emulator.reset()
    assert emulator.counters.total() == 0 and emulator.received["create"] == []


async def test_unknown_route_is_a_json_404(emulator: EmulatorHandle) -> None:
    """Paths outside the API answer the gateway's JSON 404."""
    async with client(emulator) as c:
        response = await c.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
