"""Path confinement, a missing key, and the stdio subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.app import build_server

from helpers import (
    SUNRISE,
    TEST_KEY,
    TOOL_NAMES,
    call,
    data,
    files_under,
    make_settings,
    stdio_params,
    text,
)

pytestmark = pytest.mark.anyio

ATTACKS = [
    "../escape.mp4",
    "../../etc/passwd",
    "/tmp/absolute.mp4",
    "sub/dir.mp4",
    "..",
    ".hidden.mp4",
    "~root.mp4",
    "nul\x00byte.mp4",
    "CON",
    "aux.mp4",
    "back\\slash.mp4",
    "C:evil.mp4",
    "x" * 300,
    "trailing.",
    "line\nbreak.mp4",
]


async def _completed(client: Client) -> str:
    created = data(await call(client, "create_video", SUNRISE))
    for _ in range(20):
        job = data(await call(client, "wait_for_video", {"video_id": created["video_id"]}))
        if job["terminal"]:
            return str(job["video_id"])
    raise AssertionError("never completed")


@pytest.mark.parametrize("filename", ATTACKS)
async def test_filename_attacks_are_refused_and_nothing_lands_outside(
    client: Client, emulator: EmulatorHandle, output_dir: Path, tmp_path: Path, filename: str
) -> None:
    """Traversal, absolute, hidden, reserved and odd names: isError, disk untouched."""
    video_id = await _completed(client)
    before_outside = files_under(tmp_path)
    before_content = emulator.counters["content"]
    result = await call(client, "download_video", {"video_id": video_id, "filename": filename})
    assert result.is_error, text(result)
    assert "filename" in text(result)
    assert files_under(tmp_path) == before_outside
    assert list(output_dir.iterdir()) == []
    assert emulator.counters["content"] == before_content


async def test_symlink_at_target_leading_out_is_refused(
    client: Client, output_dir: Path, tmp_path: Path
) -> None:
    """A symlink planted in the output directory is never written through."""
    video_id = await _completed(client)
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"precious")
    (output_dir / "link.mp4").symlink_to(outside)
    result = await call(
        client, "download_video", {"video_id": video_id, "filename": "link.mp4", "overwrite": True}
    )
    assert result.is_error and "symbolic link" in text(result)
    assert outside.read_bytes() == b"precious"


async def test_symlinked_output_root_is_fine(
    emulator: EmulatorHandle, tmp_path: Path, state_dir: Path
) -> None:
    """The user may point PHASEO_OUTPUT_DIR at a symlink to a directory."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    server = build_server(make_settings(emulator.base_url, link, state_dir))
    async with Client(server) as client:
        video_id = await _completed(client)
        saved = await call(client, "download_video", {"video_id": video_id})
    assert not saved.is_error, text(saved)
    assert (real / f"{video_id}.mp4").is_file()


async def test_missing_output_dir_is_created_with_parents(
    emulator: EmulatorHandle, tmp_path: Path, state_dir: Path
) -> None:
    """A missing output directory is created, parents included."""
    target = tmp_path / "a" / "b" / "c"
    async with Client(build_server(make_settings(emulator.base_url, target, state_dir))) as client:
        video_id = await _completed(client)
        saved = await call(client, "download_video", {"video_id": video_id})
    assert not saved.is_error and (target / f"{video_id}.mp4").is_file()


async def test_missing_key_lists_tools_and_explains_how_to_set_it(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """No key: the server starts, lists its tools, and each call says how to set the key."""
    settings = make_settings(emulator.base_url, output_dir, state_dir, api_key=None)
    async with Client(build_server(settings)) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == TOOL_NAMES
        result = await call(client, "create_video", SUNRISE)
    assert result.is_error and "PHASEO_API_KEY" in text(result)
    assert emulator.counters.total() == 0


def _stdio(emulator: EmulatorHandle, output_dir: Path, state_dir: Path) -> StdioServerParameters:
    return stdio_params(emulator.base_url, output_dir, state_dir, PHASEO_LOG_LEVEL="DEBUG")


async def test_stdio_subprocess_full_workflow_with_progress(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """As a desktop client runs it: a subprocess on stdio, progress over the wire."""
    emulator.plan_next_job(JobPlan(seconds=60))  # still running when the first wait polls
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(_stdio(emulator, output_dir, state_dir)) as client:
        created = data(await call(client, "create_video", SUNRISE))
        for _ in range(20):
            job = data(
                await call(
                    client,
                    "wait_for_video",
                    {"video_id": created["video_id"]},
                    progress_callback=on_progress,
                )
            )
            if job["terminal"]:
                break
        saved = data(await call(client, "download_video", {"video_id": created["video_id"]}))
    assert job["status"] == "completed"
    assert Path(saved["files"][0]["path"]).read_bytes()[4:8] == b"ftyp"
    assert seen and all(b > a for a, b in zip(seen, seen[1:], strict=False))


async def test_api_key_file_flag_is_read_and_never_a_plain_flag(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    """--api-key-file supplies the key (no PHASEO_API_KEY in the environment)."""
    key_file = tmp_path / "key"
    key_file.write_text(TEST_KEY + "\n")
    params = stdio_params(emulator.base_url, output_dir, state_dir, PHASEO_API_KEY="")
    params.args = [*params.args, "--api-key-file", str(key_file)]
    async with Client(params) as client:
        result = await call(client, "list_video_models", {})
    assert not result.is_error, text(result)
    assert emulator.counters["models"] == 1
    from phaseo_mcp.cli import build_parser

    options = {a for action in build_parser()._actions for a in action.option_strings}
    assert "--api-key" not in options
