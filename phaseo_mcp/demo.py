"""``phaseo-mcp demo``: the whole workflow with no key and no network.

Starts the gateway emulator in-process, launches phaseo-mcp as a stdio subprocess (exactly
as a desktop client would), and drives it with the real ``mcp`` client the way an agent
does: list_video_models → create_video → wait_for_video (with a progress bar) →
download_video. Prints the saved path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from mcp import Client
    from mcp.shared.dispatcher import ProgressFnT
    from mcp.types import CallToolResult

DEMO_KEY = "phaseo_v1_sk_demo_0000000000000000"
DEMO_PROMPT = "A cinematic sunrise over a mountain lake"
BAR_WIDTH = 30


class DemoStepFailed(RuntimeError):
    """A tool call of the walk-through answered an error."""


def _bar(progress: float, message: str | None) -> None:
    filled = int(BAR_WIDTH * min(progress, 100.0) / 100)
    line = f"\r  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress:5.1f}%  {message or ''}"
    print(line[:100].ljust(100), end="", flush=True)


async def _drive(base_url: str, output_dir: Path, state_dir: Path) -> Path:
    from mcp import Client, StdioServerParameters

    env = {
        "PHASEO_API_KEY": DEMO_KEY,
        "PHASEO_BASE_URL": base_url,
        "PHASEO_OUTPUT_DIR": str(output_dir),
        "PHASEO_STATE_DIR": str(state_dir),
        "PHASEO_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "phaseo_mcp"], env=env)

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        _bar(progress, message)

    failure: DemoStepFailed | None = None
    async with Client(params) as client:
        try:
            return await _walk_through(client, on_progress)
        except DemoStepFailed as exc:  # caught here, so it is not wrapped in a task group's error
            failure = exc
    raise failure or DemoStepFailed("the MCP session ended before the walk-through finished")


async def _walk_through(client: Client, on_progress: ProgressFnT) -> Path:
    print("1. list_video_models")
    models = await client.call_tool("list_video_models", {})
    ids = [m["id"] for m in (models.structured_content or {}).get("models", [])]
    model = "google/veo-3.1-lite" if "google/veo-3.1-lite" in ids else ids[0]
    print(f"   {len(ids)} models; using {model}")
    args: dict[str, Any] = {
        "model": model,
        "prompt": DEMO_PROMPT,
        "duration": 8,
        "aspect_ratio": "16:9",
    }
    print(f"2. create_video {args}")
    created = await client.call_tool("create_video", args)
    if created.is_error:
        raise DemoStepFailed(f"create_video failed: {_message(created)}")
    job = created.structured_content or {}
    video_id = job["video_id"]
    print(f"   video_id={video_id} status={job['status']}")
    print("3. wait_for_video")
    for _ in range(20):
        waited = await client.call_tool(
            "wait_for_video",
            {"video_id": video_id, "timeout_seconds": 50},
            progress_callback=on_progress,
        )
        if waited.is_error:
            raise DemoStepFailed(f"wait_for_video failed: {_message(waited)}")
        job = waited.structured_content or {}
        if job.get("terminal"):
            if job.get("status") == "completed":  # the result, not a notification, says so
                await on_progress(100.0, 100.0, "completed")
            break
    print()
    if job.get("status") != "completed":
        raise DemoStepFailed(f"the job ended as {job.get('status')}: {job.get('next_step')}")
    print("4. download_video")
    saved = await client.call_tool("download_video", {"video_id": video_id})
    if saved.is_error:
        raise DemoStepFailed(f"download_video failed: {_message(saved)}")
    result = saved.structured_content or {}
    first = result["files"][0]
    print(f"   {first['bytes']} bytes, sha256 {first['sha256'][:16]}…")
    return Path(first["path"])


def _message(result: CallToolResult) -> str:
    """An error result's first text block: the sentence that says what went wrong."""
    from mcp.types import TextContent

    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    return texts[0] if texts else "no message"


async def _main(output_dir: Path) -> Path:
    from phaseo_mcp.emulator import EmulatorConfig, running_emulator

    config = EmulatorConfig(job_seconds=6.0, poll_after_seconds=1)
    with tempfile.TemporaryDirectory(prefix="phaseo-demo-state-") as state:
        async with running_emulator(config) as emu:
            print(f"gateway emulator on {emu.base_url} (no key, no network needed)")
            return await _drive(emu.base_url, output_dir, Path(state))


def run_demo(output_dir: Path | None = None) -> int:
    from phaseo_mcp.config import default_output_dir

    env_dir = os.environ.get("PHASEO_OUTPUT_DIR", "").strip()
    target = (output_dir or (Path(env_dir) if env_dir else default_output_dir())).expanduser()
    target = target.resolve()
    try:
        path = anyio.run(_main, target)
    except Exception as exc:  # the demo is a person's first contact: a sentence, no traceback
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nSaved: {path}")
    return 0
