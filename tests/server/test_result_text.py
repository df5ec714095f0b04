"""Each result's text alone is enough to carry on: hosts such as Gemini CLI and opencode hand
the model only the text content, never structuredContent.

Real mcp client in process, real emulator over loopback HTTP. Paths and signed URLs must
appear whole in the text (the old 500-character cut broke them), and the URLs must work.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.server.app import build_server

from helpers import call, data, make_settings, mp4_boxes, text, wait_terminal

pytestmark = pytest.mark.anyio
FOUR_OUTPUTS = {
    "model": "google/veo-3.1",
    "prompt": "Four takes of a lighthouse at dusk",
    "duration": 4,
    "aspect_ratio": "16:9",
    "sample_count": 4,
}


def _listed(words: str) -> dict[int, str]:
    """The ``- output <n>: <path or url> (...)`` lines of a download text, by index."""
    found = {}
    for line in words.splitlines():
        if line.startswith("- output "):
            index, rest = line.removeprefix("- output ").split(": ", 1)
            found[int(index)] = rest.split(" (", 1)[0]
    return found


async def _completed(client: Client, args: dict[str, object] = FOUR_OUTPUTS) -> str:
    created = await call(client, "create_video", args)
    assert not created.is_error, text(created)
    video_id = str(data(created)["video_id"])
    await wait_terminal(client, video_id)
    return video_id


async def test_job_text_names_id_status_next_step_and_next_call(client: Client) -> None:
    """create and wait texts carry the id, the status and the exact next call."""
    created = await call(client, "create_video", FOUR_OUTPUTS)
    job = data(created)
    words = text(created)
    assert job["video_id"] in words and job["status"] in words
    assert job["next_step"] in words
    arguments = json.dumps(job["next_call"]["arguments"], separators=(",", ":"))
    assert f"Next call: wait_for_video {arguments}" in words
    done = await wait_terminal(client, job["video_id"])
    assert done["status"] == "completed"
    finished = text(await call(client, "get_video_status", {"video_id": job["video_id"]}))
    assert f"{job['video_id']}: completed" in finished
    assert f"Next call: download_video {arguments}" in finished


async def test_url_mode_text_holds_every_whole_signed_url_and_its_expiry(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """Four signed links, each written out whole (well past 500 characters) and fetchable."""
    video_id = await _completed(client)
    result = await call(client, "download_video", {"video_id": video_id, "mode": "url"})
    assert not result.is_error, text(result)
    words = text(result)
    files = data(result)["files"]
    assert len(files) == 4
    assert len(words) > 500, "four whole URLs do not fit in the old cut"
    urls = _listed(words)
    assert urls == {link["index"]: link["url"] for link in files}
    async with httpx.AsyncClient(timeout=30) as http:
        for link in files:
            assert f"{link['url']} (expires {link['expires_at']}" in words
            response = await http.get(urls[link["index"]])  # as the model reads it
            assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    assert list(output_dir.iterdir()) == []


async def test_file_mode_text_holds_every_whole_saved_path(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Saved files under a 600-character folder: every path appears whole and is the MP4."""
    deep = tmp_path.joinpath(*[f"level-{n:02d}-" + "x" * 40 for n in range(12)])
    assert len(str(deep)) > 600
    server: MCPServer = build_server(make_settings(emulator.base_url, deep, tmp_path / "state"))
    async with Client(server) as client:
        video_id = await _completed(client)
        result = await call(client, "download_video", {"video_id": video_id})
    assert not result.is_error, text(result)
    words = text(result)
    files = data(result)["files"]
    assert len(files) == 4
    paths = _listed(words)
    assert paths == {saved["index"]: saved["path"] for saved in files}
    for saved in files:
        assert f"{saved['path']} ({saved['bytes']} bytes)" in words
        path = Path(paths[saved["index"]])
        assert path.parent == deep and mp4_boxes(path)[0] == "ftyp"


async def test_list_and_models_texts_name_what_the_next_call_needs(
    client: Client, settings: Settings
) -> None:
    """list_videos names each job's id and status; list_video_models each model's values."""
    video_id = await _completed(client)
    listed = text(await call(client, "list_videos", {}))
    assert f"- {video_id}: completed" in listed
    models = await call(client, "list_video_models", {})
    catalogue = data(models)["models"]
    words = text(models)
    for model in catalogue:
        assert f"- {model['id']}" in words
    veo = next(m for m in catalogue if m["id"] == "google/veo-3.1")
    assert "durations " + ",".join(str(d) for d in veo["durations"]) in words
