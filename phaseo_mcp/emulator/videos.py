"""Real, playable videos for ``JobPlan(playable=True)`` jobs, made with ffmpeg and cached.

A playable job's outputs are H.264 + AAC MP4 files (``+faststart``, so a browser plays them
while they stream) of the job's own duration and ``WIDTHxHEIGHT``, or with
``JobPlan.codec`` ``"vp9"`` / ``"av1"`` WebM files (VP9 or AV1 + Opus). For H.264,
``JobPlan.asset_bytes`` then asks for *at least* that many bytes, reached with a constant bit
rate over a noisy test pattern (real frames, not filler). Output ``i`` has its pattern's hue
turned by ``i``, so each index has its own bytes.

Files are cached by everything that makes them (the ffmpeg command line) under
``$PHASEO_EMULATOR_VIDEO_CACHE``, else ``$XDG_CACHE_HOME/phaseo-mcp/emulator-videos``
(``~/.cache/...``): the second run of a test suite encodes nothing. A file is written beside
its final name and renamed into place, so a crash leaves no half file under a cache name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Codec = Literal["h264", "vp9", "av1"]
MIME_TYPES: dict[str, str] = {".mp4": "video/mp4", ".webm": "video/webm"}
ENCODE_TIMEOUT_SECONDS = 600.0
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class VideoSpec:
    """What one playable output is: length, frame size, a byte floor and its output index."""

    seconds: float
    width: int
    height: int
    min_bytes: int | None = None
    index: int = 0
    codec: Codec = "h264"

    @property
    def suffix(self) -> str:
        return ".mp4" if self.codec == "h264" else ".webm"

    def command(self, target: Path) -> list[str]:
        rate = 24
        video = (
            f"testsrc2=duration={self.seconds}:size={self.width}x{self.height}:rate={rate},"
            f"hue=h={self.index * 47 % 360}"
        )
        audio = f"sine=frequency=440:duration={self.seconds}:sample_rate=48000"
        args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio]  # fmt: skip
        if self.codec == "vp9":
            return args + ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                           "-b:v", "1M", "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "64k",
                           "-map_metadata", "-1", "-shortest", str(target)]  # fmt: skip
        if self.codec == "av1":
            return args + ["-c:v", "libsvtav1", "-preset", "12", "-crf", "40",
                           "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "64k",
                           "-map_metadata", "-1", "-shortest", str(target)]  # fmt: skip
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "64k", "-ac", "1"]  # fmt: skip
        if self.min_bytes:
            # bits per second that fill min_bytes, with 10 % to spare for container overhead
            bps = int(self.min_bytes * 8 * 1.1 / self.seconds)
            args[args.index(video)] = video + ",noise=alls=100:allf=t"
            args += ["-b:v", str(bps), "-minrate", str(bps), "-maxrate", str(bps),
                     "-bufsize", str(bps), "-x264-params", "nal-hrd=cbr:filler=1"]  # fmt: skip
        else:
            args += ["-crf", "30"]
        args += ["-movflags", "+faststart", "-map_metadata", "-1", "-shortest", str(target)]
        return args

    def key(self) -> str:
        return hashlib.sha256("\0".join(self.command(Path("out.mp4"))).encode()).hexdigest()[:24]


def cache_dir() -> Path:
    explicit = os.environ.get("PHASEO_EMULATOR_VIDEO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phaseo-mcp" / "emulator-videos"


def cached_path(spec: VideoSpec) -> Path:
    return cache_dir() / f"{spec.key()}{spec.suffix}"


def ensure_video(spec: VideoSpec) -> Path:
    """The spec's file, encoded once (blocking: call it from a worker thread in async code)."""
    path = cached_path(spec)
    if path.exists():
        return path
    key = spec.key()
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if path.exists():
            return path
        if shutil.which("ffmpeg") is None:
            raise RuntimeError("playable emulator videos need ffmpeg on PATH")
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}{spec.suffix}")
        try:
            subprocess.run(
                spec.command(temp), check=True, capture_output=True, timeout=ENCODE_TIMEOUT_SECONDS
            )
            if spec.min_bytes and temp.stat().st_size < spec.min_bytes:
                raise RuntimeError(
                    f"ffmpeg made {temp.stat().st_size} bytes, fewer than {spec.min_bytes}"
                )
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    return path
