"""Shared plumbing of the benchmarks: the emulator process, server env, stats, machine facts.

Everything runs on loopback, every subprocess is bounded by a timeout and killed in a
``finally``, and every figure is a ratio of two things measured in the same run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
API_KEY = "phaseo_v1_sk_bench_0123456789abcdef"
MiB = 1024 * 1024


# ------------------------------------------------------------------ numbers


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Figure:
    """One row of the results table."""

    key: str
    name: str
    measured: str  # what was measured, human-readable, with the baseline
    ratio: float | None  # the figure compared with its target (None: informational)
    target: str
    met: bool | None
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""


# ------------------------------------------------------------------ machine facts


def machine_facts() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    versions = {}
    for dist in ("phaseo-mcp", "mcp", "httpx", "httpx2", "pydantic", "anyio", "uvicorn",
                 "starlette", "psutil"):  # fmt: skip
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    curl = "absent"
    if path := shutil.which("curl"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            curl = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=10
            ).stdout.split("\n")[0]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "curl": curl,
    }


# ------------------------------------------------------------------ environments


def server_env(base_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a phaseo-mcp server process pointed at the emulator."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(workdir)),
        "PHASEO_API_KEY": API_KEY,
        "PHASEO_BASE_URL": base_url,
        "PHASEO_OUTPUT_DIR": str(workdir / "out"),
        "PHASEO_STATE_DIR": str(workdir / "state"),
        "PHASEO_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"phaseo-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Terminate, then kill, one process we started (never anything else)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


# ------------------------------------------------------------------ the emulator process


class EmulatorProcess:
    """The gateway emulator in its own process (``bench/emulator_proc.py``).

    Its CPU then never competes with the event loop of the process being measured. Control is
    one JSON line per command on its stdin, one JSON line back on its stdout.
    """

    def __init__(self, proc: subprocess.Popen[str], base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url

    @classmethod
    @contextlib.contextmanager
    def run(cls, log: IO[str] | None = None, **config: Any) -> Iterator[EmulatorProcess]:
        proc = subprocess.Popen(
            [PYTHON, str(REPO / "bench" / "emulator_proc.py"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log if log is not None else subprocess.DEVNULL,
            text=True,
            cwd=REPO,
        )
        try:
            line = _readline(proc, 30.0)
            base_url = json.loads(line)["base_url"]
            yield cls(proc, base_url)
        finally:
            with contextlib.suppress(Exception):
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                    proc.stdin.flush()
                    proc.wait(timeout=5)
            stop_process(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(_readline(self.proc, timeout))
        if "error" in reply:
            raise RuntimeError(f"emulator command {cmd} failed: {reply['error']}")
        return reply

    def plan(self, **plan: Any) -> None:
        self.command("plan", plan=plan)

    def stats(self) -> dict[str, Any]:
        """``{"counters": {route: n}, "status_by_id": {video_id: n}}``."""
        return dict(self.command("stats"))

    def reset(self) -> None:
        self.command("reset")


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """One line from the child's stdout within ``timeout`` seconds."""
    import select

    assert proc.stdout is not None
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the emulator process did not answer in time")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the emulator process exited (code {proc.poll()})")
            return line


def create_job(base_url: str, *, model: str = "google/veo-3.1-lite") -> dict[str, Any]:
    """Create a job straight at the emulator (not through the server); returns its object."""
    import httpx

    body = {"model": model, "prompt": "benchmark clip"}
    response = httpx.post(
        f"{base_url}/videos",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30.0,
    )
    response.raise_for_status()
    return dict(response.json())


def wait_completed(base_url: str, video_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the emulator directly until the job is completed (also warms its sha256 cache)."""
    import httpx

    end = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(timeout=60.0, headers=headers) as client:
        while time.monotonic() < end:
            data = dict(client.get(f"{base_url}/videos/{video_id}").json())
            if data.get("status") == "completed":
                return data
            time.sleep(0.02)
    raise TimeoutError(f"{video_id} did not complete in {timeout}s")
