"""What ``/content`` serves: the packaged sample MP4 or a synthetic asset of any size.

``data/sample.mp4`` (16 994 bytes, 320x240, 24 fps, 2 s, H.264 + AAC mono 440 Hz) was made once
with Debian's ffmpeg 5.1:

    ffmpeg -hide_banner -loglevel error -y \
      -f lavfi -i testsrc=duration=2:size=320x240:rate=24 \
      -f lavfi -i sine=frequency=440:duration=2:sample_rate=22050 \
      -c:v libx264 -preset veryslow -crf 35 -pix_fmt yuv420p -c:a aac -b:a 32k -ac 1 \
      -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
      -flags:a +bitexact -shortest sample.mp4

Output ``i > 0`` of a multi-sample job is the same file followed by a top-level ``free`` box
naming the index: still playable, different bytes and sha256.

A synthetic asset (``JobPlan.asset_bytes``) is an ``ftyp`` box and an ``mdat`` box header
followed by deterministic filler, produced chunk by chunk and never held whole in memory; its
sha256 is computed by streaming once per (size, index) and cached.

A playable asset (``JobPlan.playable``) is a real ffmpeg-made file (``videos.py``), streamed
from disk.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

CHUNK = 256 * 1024
SAMPLE_WIDTH, SAMPLE_HEIGHT, SAMPLE_SECONDS = 320, 240, 2.0
MIME = "video/mp4"


@cache
def sample_bytes() -> bytes:
    return resources.files("phaseo_mcp.emulator").joinpath("data/sample.mp4").read_bytes()


def _free_box(index: int) -> bytes:
    payload = f"phaseo-emulator output {index}\n".encode()
    return struct.pack(">I", 8 + len(payload)) + b"free" + payload


@cache
def sample_variant(index: int) -> bytes:
    return sample_bytes() if index == 0 else sample_bytes() + _free_box(index)


@dataclass(frozen=True)
class Asset:
    """One output's bytes: the sample variant (``synthetic_size is None``) or synthetic."""

    index: int
    synthetic_size: int | None = None
    path: Path | None = None  # a playable file made by videos.py

    @property
    def mime(self) -> str:
        return "video/webm" if self.path is not None and self.path.suffix == ".webm" else MIME

    @property
    def size(self) -> int:
        if self.path is not None:
            return self.path.stat().st_size
        if self.synthetic_size is not None:
            return self.synthetic_size
        return len(sample_variant(self.index))

    def chunks(self) -> Iterator[bytes]:
        if self.path is not None:
            with self.path.open("rb") as file:
                while block := file.read(CHUNK):
                    yield block
        elif self.synthetic_size is None:
            data = sample_variant(self.index)
            for start in range(0, len(data), CHUNK):
                yield data[start : start + CHUNK]
        else:
            yield from _synthetic_chunks(self.synthetic_size, self.index)

    async def achunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk

    def sha256(self) -> str:
        """Hex digest; cheap for the sample, streamed once and cached for other assets."""
        if self.path is not None:
            return _file_sha256(self.path)
        if self.synthetic_size is None:
            return hashlib.sha256(sample_variant(self.index)).hexdigest()
        return _synthetic_sha256(self.synthetic_size, self.index)

    def sha256_is_cached(self) -> bool:
        if self.path is not None:
            return self.path in _known_files
        if self.synthetic_size is None:
            return True
        return (self.synthetic_size, self.index) in _known_digests


_known_digests: set[tuple[int, int]] = set()
_known_files: set[Path] = set()


@lru_cache(maxsize=64)
def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    _known_files.add(path)
    return digest.hexdigest()


@cache
def _filler(index: int) -> bytes:
    return hashlib.shake_256(f"phaseo-emulator-filler-{index}".encode()).digest(CHUNK)


def _header(size: int) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 0x200) + b"isomiso2"
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", size - len(ftyp))
    return ftyp + mdat


def _synthetic_chunks(size: int, index: int) -> Iterator[bytes]:
    filler = _filler(index)
    head = _header(size) if size >= 40 else b""
    sent = 0
    counter = 0
    while sent < size:
        block = counter.to_bytes(8, "big") + filler[8:]
        if counter == 0 and head:
            block = head + block[len(head) :]
        block = block[: size - sent]
        yield block
        sent += len(block)
        counter += 1


@lru_cache(maxsize=64)
def _synthetic_sha256(size: int, index: int) -> str:
    digest = hashlib.sha256()
    for chunk in _synthetic_chunks(size, index):
        digest.update(chunk)
    _known_digests.add((size, index))
    return digest.hexdigest()
