"""Figure 1: download_video (mode file, MCP over stdio) vs ``curl -o`` of the same content URL,
and the server's peak RSS for a small vs a large download.

The emulator runs in its own process (its CPU would otherwise sit on the path being timed).
Runs alternate curl and MCP so drifting machine load hits both alike. The downloaded files
are deleted after each run: a file already on disk with the right sha256 is not transferred
again, which would measure the cache, not the download.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import anyio
import psutil

from bench.common import (
    API_KEY,
    EmulatorProcess,
    Figure,
    MiB,
    create_job,
    median,
    server_env,
    wait_completed,
    workdir,
)
from bench.mcpclient import reset_hwm, stdio_session, structured, vm_hwm_bytes


def _curl(url: str, target: Path) -> float:
    curl = shutil.which("curl") or "/usr/bin/curl"
    start = time.perf_counter()
    subprocess.run(
        [curl, "-sS", "--fail", "-o", str(target), "-H", f"Authorization: Bearer {API_KEY}", url],
        check=True,
        timeout=600,
    )
    return time.perf_counter() - start


class RssSampler:
    """Samples a process's RSS every few ms in a thread (cross-check of VmHWM)."""

    def __init__(self, proc: psutil.Process, every: float = 0.005) -> None:
        self.proc, self.every, self.peak = proc, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def _mcp_download(client: Any, video_id: str, name: str, size: int, out: Path) -> float:
    start = time.perf_counter()
    result = await client.call_tool(
        "download_video", {"video_id": video_id, "mode": "file", "filename": name}
    )
    elapsed = time.perf_counter() - start
    data = structured(result)
    saved = data["files"][0]
    if saved["bytes"] != size or not saved.get("transferred", True):
        raise RuntimeError(f"unexpected download result: {saved}")
    Path(saved["path"]).unlink()
    return elapsed


async def _peak_rss(
    env: dict[str, str], video_id: str, size: int, out: Path, log: IO[str]
) -> dict[str, Any]:
    """Peak RSS of a fresh server over one download, counted from just before it starts."""
    async with stdio_session(env, errlog=log) as (client, server):
        # Warm the tool-call path (lazy imports, the shared HTTP client) before the reset.
        await client.call_tool("get_video_status", {"video_id": video_id})
        baseline = server.memory_info().rss
        was_reset = reset_hwm(server.pid)
        with RssSampler(server) as sampler:
            await _mcp_download(client, video_id, f"rss-{size}.mp4", size, out)
            hwm = vm_hwm_bytes(server.pid)
        return {
            "rss_before": baseline,
            "vm_hwm": hwm,
            "hwm_reset": was_reset,
            "sampled_peak": sampler.peak,
            "peak": max(hwm or 0, sampler.peak),
        }


async def run(quick: bool, log: IO[str]) -> list[Figure]:
    big = 32 * MiB if quick else 512 * MiB
    small = 4 * MiB if quick else 16 * MiB
    reps = 1 if quick else 3
    with (
        workdir("download") as wd,
        EmulatorProcess.run(log=log, time_scale=1, job_seconds=0.05, content_cap_bytes=big) as emu,
    ):
        out = wd / "out"
        jobs = {}
        for size in (small, big):
            emu.plan(asset_bytes=size, seconds=0.01)
            job = create_job(emu.base_url)
            await anyio.to_thread.run_sync(lambda j=job: wait_completed(emu.base_url, j["id"]))
            jobs[size] = job["id"]
        env = server_env(emu.base_url, wd)
        content_url = f"{emu.base_url}/videos/{jobs[big]}/content"
        curl_times: list[float] = []
        mcp_times: list[float] = []
        async with stdio_session(env, errlog=log) as (client, _server):
            # Warm-up: both paths once on the small asset (page cache, connections, imports).
            await _mcp_download(client, jobs[small], "warm.mp4", small, out)
            small_url = f"{emu.base_url}/videos/{jobs[small]}/content"
            await anyio.to_thread.run_sync(_curl, small_url, wd / "warm-curl.mp4")
            for rep in range(reps):
                order = ("curl", "mcp") if rep % 2 == 0 else ("mcp", "curl")
                for which in order:
                    if which == "curl":
                        target = wd / "curl.mp4"
                        elapsed = await anyio.to_thread.run_sync(_curl, content_url, target)
                        curl_times.append(elapsed)
                        if target.stat().st_size != big:
                            raise RuntimeError("curl saved the wrong number of bytes")
                        target.unlink()
                    else:
                        mcp_times.append(
                            await _mcp_download(client, jobs[big], "big.mp4", big, out)
                        )
        rss = {size: await _peak_rss(env, jobs[size], size, out, log) for size in (small, big)}
    curl_tp = big / median(curl_times) / MiB
    mcp_tp = big / median(mcp_times) / MiB
    ratio = mcp_tp / curl_tp
    growth = (rss[big]["peak"] - rss[small]["peak"]) / 1e6
    fsync_note = (
        "download_video also hashes (sha256) and fsyncs the file before renaming it; curl does "
        "neither."
    )
    return [
        Figure(
            key="download_throughput",
            name=f"download_video {big // MiB} MiB vs curl -o",
            measured=(
                f"MCP {mcp_tp:.0f} MiB/s vs curl {curl_tp:.0f} MiB/s "
                f"(median of {reps}; times {_fmt(mcp_times)} vs {_fmt(curl_times)} s)"
            ),
            ratio=ratio,
            target=">= 0.9x curl",
            met=ratio >= 0.9,
            details={"mcp_seconds": mcp_times, "curl_seconds": curl_times, "bytes": big},
            note=fsync_note,
        ),
        Figure(
            key="download_rss",
            name=f"server peak RSS, {big // MiB} MiB vs {small // MiB} MiB download",
            measured=(
                f"{rss[big]['peak'] / 1e6:.1f} MB vs {rss[small]['peak'] / 1e6:.1f} MB "
                f"({growth:+.1f} MB); ratio {rss[big]['peak'] / rss[small]['peak']:.3f}"
            ),
            ratio=rss[big]["peak"] / rss[small]["peak"],
            target="growth <= 8 MB",
            met=growth <= 8.0,
            details={"small": rss[small], "large": rss[big], "growth_mb": growth},
            note="peak = max(VmHWM reset just before the download, 5 ms psutil sampling)",
        ),
    ]


def _fmt(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)
