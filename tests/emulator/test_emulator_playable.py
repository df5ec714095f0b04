"""Playable emulator videos: real H.264 + AAC frames of the job's length and size."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.emulator.config import JobPlan

from emu_helpers import client, create, finish

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffmpeg"),
]


def probe(path: Path, video_codec: str = "h264") -> dict[str, object]:
    """ffprobe's view of a file: duration, codecs, frame size."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=duration:stream=codec_name,width,height", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    data = json.loads(out)
    streams = data["streams"]
    video = next(s for s in streams if s["codec_name"] == video_codec)
    return {"duration": float(data["format"]["duration"]),
            "codecs": sorted(s["codec_name"] for s in streams),
            "size": f"{video['width']}x{video['height']}"}  # fmt: skip


async def test_playable_job_serves_a_real_video_of_its_length_and_size(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """playable: /content is an H.264+AAC MP4 with the job's duration, size and sha256."""
    emulator.plan_next_job(JobPlan(playable=True))
    async with client(emulator) as c:
        job = await create(c, duration=4, resolution="720p", aspect_ratio="16:9")
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
        data = (await c.get(f"/videos/{job['id']}/content")).content
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    assert probe(path) == {"duration": 4.0, "codecs": ["aac", "h264"], "size": "1280x720"}
    assert done["asset"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert done["asset"]["bytes"] == len(data)


async def test_playable_job_with_a_byte_floor_is_large_with_real_frames(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """playable + asset_bytes: over 10 MiB of real frames, each output index different."""
    floor = 11 * 1024 * 1024
    emulator.plan_next_job(JobPlan(playable=True, asset_bytes=floor))
    async with client(emulator) as c:
        job = await create(c, duration=4, resolution="720p", sample_count=2)
        await finish(emulator)
        first = (await c.get(f"/videos/{job['id']}/content")).content
        second = (await c.get(f"/videos/{job['id']}/content?index=1")).content
    assert len(first) >= floor and len(second) >= floor and first != second
    path = tmp_path / "big.mp4"
    path.write_bytes(first)
    assert probe(path)["duration"] == 4.0


@pytest.mark.parametrize(("codec", "video_codec"), [("vp9", "vp9"), ("av1", "av1")])
async def test_playable_webm_codecs(
    emulator: EmulatorHandle, tmp_path: Path, codec: str, video_codec: str
) -> None:
    """codec vp9 / av1: a WebM (with Opus) of the job's length, served as video/webm."""
    emulator.plan_next_job(JobPlan(playable=True, codec=codec))  # type: ignore[arg-type]
    async with client(emulator) as c:
        job = await create(c, duration=4, resolution="720p")
        await finish(emulator)
        done = (await c.get(f"/videos/{job['id']}")).json()
        response = await c.get(f"/videos/{job['id']}/content")
    assert response.headers["content-type"] == "video/webm"
    assert done["outputs"][0]["mime_type"] == "video/webm"
    path = tmp_path / "v.webm"
    path.write_bytes(response.content)
    found = probe(path, video_codec)
    assert found["codecs"] == sorted(["opus", video_codec])
    assert abs(float(str(found["duration"])) - 4.0) < 0.05
