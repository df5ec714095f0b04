"""A 1 GiB synthetic asset streams without growing the emulator's memory."""

from __future__ import annotations

import hashlib

import psutil
import pytest

from phaseo_mcp.emulator import EmulatorConfig, JobPlan, running_emulator
from phaseo_mcp.emulator.assets import Asset

from emu_helpers import client, create, finish

pytestmark = pytest.mark.anyio
GIB = 1024**3


async def test_one_gib_asset_streams_with_flat_memory() -> None:
    """Serving 1 GiB (cap raised) grows RSS by < 50 MB; the bytes hash to the advertised sha256."""
    config = EmulatorConfig(time_scale=0, content_cap_bytes=2 * GIB)
    async with running_emulator(config) as emu, client(emu, timeout=120) as c:
        emu.plan_next_job(JobPlan(asset_bytes=GIB))
        job = await create(c)
        await finish(emu)
        done = (await c.get(f"/videos/{job['id']}")).json()  # computes and caches the digest
        assert done["asset"]["bytes"] == GIB
        process = psutil.Process()
        before = process.memory_info().rss
        peak = before
        digest = hashlib.sha256()
        size = 0
        async with c.stream("GET", f"/videos/{job['id']}/content") as response:
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == GIB
            async for chunk in response.aiter_raw():
                digest.update(chunk)
                size += len(chunk)
                if size % (64 * 1024 * 1024) < len(chunk):
                    peak = max(peak, process.memory_info().rss)
        peak = max(peak, process.memory_info().rss)
    assert size == GIB
    assert digest.hexdigest() == done["asset"]["sha256"]
    assert peak - before < 50 * 1024 * 1024, f"RSS grew by {(peak - before) / 2**20:.1f} MiB"


async def test_over_the_default_cap_is_refused_without_reading_bytes() -> None:
    """With the default 512 MiB cap, a 1 GiB asset gets 502 video_content_too_large."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        emu.plan_next_job(JobPlan(asset_bytes=GIB))
        job = await create(c)
        await finish(emu)
        response = await c.get(f"/videos/{job['id']}/content")
    assert response.status_code == 502


def test_synthetic_digest_is_cached() -> None:
    """The streamed sha256 of a synthetic asset is computed once per (size, index)."""
    asset = Asset(0, 5_000_000)
    first = asset.sha256()
    assert asset.sha256_is_cached() and asset.sha256() == first
    assert Asset(1, 5_000_000).sha256() != first
