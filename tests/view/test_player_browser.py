"""The inline player in a real browser: Debian's chromium (no browser download) loads a host
page built on the extension's own AppBridge, which embeds the player in a sandboxed iframe
under the host's CSP and relays its calls to a real phaseo-mcp (stdio, TypeScript SDK client
at its default message limits) on the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from viewkit import HOST_SOURCES, install

from phaseo_mcp.emulator import EmulatorConfig, running_emulator
from phaseo_mcp.emulator.videos import VideoSpec, cached_path, ensure_video

from helpers import stdio_env

CHROMIUM = Path("/usr/bin/chromium")
BIG = 11 * 1024 * 1024
CREATE = {"model": "google/veo-3.1-lite", "prompt": "a sunrise", "duration": 4,
          "resolution": "720p", "aspect_ratio": "16:9", "allow_duplicate": True}  # fmt: skip
BYTES_ONLY = {**CREATE, "output": {"access": "bytes"}}
SCREENSHOT_ENV = "PHASEO_PLAYER_SCREENSHOT"  # also copy the first screenshot here (README)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),  # npm ci on first use, then about a minute of browser
    pytest.mark.skipif(
        not CHROMIUM.exists() or shutil.which("npm") is None or shutil.which("ffprobe") is None,
        reason="needs Debian's chromium, npm and ffmpeg (python3 dev.py test installs them)",
    ),
]


def ffprobe_seconds(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return float(out)


def colours(png: Path) -> int:
    """Distinct colours in a screenshot (decoded by ffmpeg), capped at 1000."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(png), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    seen: set[bytes] = set()
    for i in range(0, len(raw), 3 * 97):  # a sample of pixels is enough to tell
        seen.add(raw[i : i + 3])
        if len(seen) >= 1000:
            break
    return len(seen)


@pytest.fixture(scope="module")
def host_modules() -> Iterator[Path]:
    folder, detail = install("host", HOST_SOURCES)
    if folder is None:
        pytest.skip(f"npm ci of tests/view/host failed: {detail[-500:]}")
    yield folder


def run_driver(folder: Path, config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    work = tmp_path / "driver"
    work.mkdir()
    for name in ("host.ts", "drive_player.mjs"):
        shutil.copy2(HOST_SOURCES / name, work / name)
    (work / "node_modules").symlink_to(folder / "node_modules", target_is_directory=True)
    (work / "config.json").write_text(json.dumps(config))
    report = work / "report.json"
    proc = subprocess.run(
        ["node", "drive_player.mjs", "config.json", str(report)],
        cwd=work, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0 and report.exists(), (proc.stdout + proc.stderr)[-3000:]
    return dict(json.loads(report.read_text()))


@pytest.mark.anyio
async def test_player_shows_progress_then_plays_in_chromium(
    host_modules: Path, tmp_path: Path
) -> None:
    """Progress rises during the render; then <video> reaches readyState >= 2 with the file's
    own (ffprobe) duration from a signed URL (declared CSP; H.264 MP4, VP9 and AV1 WebM) and
    from base64 chunks of a saved file (default CSP), small and over 10 MiB; the frame is not
    one colour; no CSP violation, by a detector first shown to catch a deliberate one."""
    small = VideoSpec(4.0, 1280, 720)
    big = VideoSpec(4.0, 1280, 720, BIG)
    await anyio.to_thread.run_sync(ensure_video, small)  # encode before the server's clock runs
    await anyio.to_thread.run_sync(ensure_video, big)
    output_dir, state_dir = tmp_path / "out", tmp_path / "state"
    webm = {codec: VideoSpec(4.0, 1280, 720, codec=codec) for codec in ("vp9", "av1")}
    for spec in webm.values():
        await anyio.to_thread.run_sync(ensure_video, spec)
    shots = {name: tmp_path / f"{name}.png" for name in ("url", "inline", "big", "vp9", "av1")}
    config = EmulatorConfig(time_scale=0, poll_after_seconds=1)
    async with running_emulator(config) as emulator:
        env = {**os.environ, **stdio_env(emulator.base_url, output_dir, state_dir)}
        driver_config = {
            "chromium": str(CHROMIUM),
            "emulator_root": emulator.root_url,
            "server": {"command": sys.executable, "args": ["-m", "phaseo_mcp"], "env": env},
            "scenarios": [
                {"name": "url", "csp": "declared", "plan": {"playable": True},
                 "create": CREATE, "download": False, "screenshot": str(shots["url"]),
                 "fullscreen": True},
                {"name": "inline", "csp": "default", "plan": {"playable": True},
                 "create": BYTES_ONLY, "download": True, "screenshot": str(shots["inline"]),
                 "theme": "dark"},
                {"name": "big", "csp": "default", "plan": {"playable": True, "asset_bytes": BIG},
                 "create": BYTES_ONLY, "download": True, "screenshot": str(shots["big"])},
                *({"name": codec, "csp": "declared", "plan": {"playable": True, "codec": codec},
                   "create": CREATE, "download": False, "screenshot": str(shots[codec])}
                  for codec in webm),
            ],
        }  # fmt: skip
        report = await anyio.to_thread.run_sync(
            lambda: run_driver(host_modules, driver_config, tmp_path)
        )
    assert any("media-src" in v or "img-src" in v for v in report["detector"]), report["detector"]
    names = {t["name"]: t for t in report["tools"]}
    assert names["player_update"]["ui"]["visibility"] == ["app"]
    assert report["resource"]["mimeType"] == "text/html;profile=mcp-app"
    assert not report["client_closed"], report["stderr_tail"]
    by_name = {s["name"]: s for s in report["scenarios"]}
    for name, scenario in by_name.items():
        assert scenario["error"] is None, scenario["error"]
        progress = scenario["progress"]
        assert len(progress) >= 2 and progress == sorted(progress), (name, scenario["statuses"])
        assert progress[-1] > progress[0], (name, progress)
        final = scenario["final"]
        assert final["readyState"] >= 2, (name, final)
        assert scenario["violations"] == [], (name, scenario["violations"])
        assert colours(shots[name]) > 50, name
    assert by_name["url"]["final"]["src"].startswith("http://127.0.0.1:")
    expected = ffprobe_seconds(cached_path(small))
    assert abs(by_name["url"]["final"]["duration"] - expected) < 0.05
    for codec, spec in webm.items():  # VP9 and AV1 WebM play from their signed URLs too
        assert by_name[codec]["final"]["src"].startswith("http://127.0.0.1:")
        assert abs(by_name[codec]["final"]["duration"] - ffprobe_seconds(cached_path(spec))) < 0.05
    for name in ("inline", "big"):
        final = by_name[name]["final"]
        saved = Path(by_name[name]["saved"]["path"])
        assert final["src"].startswith("data:video/mp4;base64,")
        assert abs(final["duration"] - ffprobe_seconds(saved)) < 0.05
    assert Path(by_name["big"]["saved"]["path"]).stat().st_size > 10 * 1024 * 1024
    assert by_name["inline"]["final"]["theme"] == "dark"  # the host's theme
    assert by_name["url"]["display_mode"] == "fullscreen"  # granted by the host, applied
    assert by_name["url"]["display_requests"] == ["display fullscreen"]
    assert by_name["url"]["exit_button"] == "Exit full screen"
    if target := os.environ.get(SCREENSHOT_ENV):
        shutil.copy2(shots["url"], target)
        Path(target).with_suffix(".json").write_text(json.dumps(report, indent=2))
