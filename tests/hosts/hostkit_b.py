"""What the Codex and opencode host tests share: one test's private world (a HOME, a project,
the server's folders), the emulator and the HTTP server against it, and the checkout's script.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import PINNED_CONFIRMATION, TIME_SCALE, assert_mp4, stdio_env
from local_servers import (
    HTTP_TOKEN,
    ROOT,
    emulator_process,
    host_env,
    http_server,
)
from model_openai import Transcript
from uvx import uvx_env


@dataclass
class Box:
    """One test's private world: a HOME, a project folder, the server's output and state."""

    root: Path
    wheelhouse: Path | None = None

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def output_dir(self) -> Path:
        return self.root / "videos"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def env(self, **extra: str) -> dict[str, str]:
        """Only this box's HOME/XDG folders; with a wheelhouse, uv first on PATH."""
        uvx = uvx_env(self.home, self.wheelhouse) if self.wheelhouse is not None else {}
        return host_env(self.home, **uvx, **extra)

    @contextmanager
    def emulator(self) -> Iterator[str]:
        """The emulator at the test time scale; yields its base URL."""
        with emulator_process(self.root / "emulator", "--time-scale", str(TIME_SCALE)) as url:
            yield url

    def server_values(self, base_url: str) -> dict[str, str]:
        """What the stdio server needs to reach the emulator, at the test time scale."""
        return stdio_env(base_url, self.output_dir, self.state_dir, **PINNED_CONFIRMATION)

    @contextmanager
    def http_server(self, base_url: str) -> Iterator[str]:
        """``phaseo-mcp serve --transport http`` accepting HTTP_TOKEN; yields its /mcp URL."""
        log = self.root / "server.log"
        with http_server(base_url, self.output_dir, self.state_dir, HTTP_TOKEN, log) as replica:
            yield replica.url


def make_box(root: Path, wheelhouse: Path | None = None) -> Box:
    """Create the folders; with a wheelhouse, ``uvx phaseo-mcp`` resolves only from it."""
    box = Box(root, wheelhouse)
    for folder in (box.home, box.project, box.output_dir, box.state_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return box


def checkout_script() -> Path:
    script = ROOT / ".venv" / "bin" / "phaseo-mcp"
    assert script.exists(), f"the checkout form needs {script} (python3 dev.py test creates it)"
    return script


def assert_saved_run(
    ran: subprocess.CompletedProcess[str], transcript: Transcript, box: Box
) -> list[dict[str, Any]]:
    """A one-prompt host run that went create -> wait -> download as scripted and saved the one
    MP4 whose path the model read; the JSON events the host printed."""
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    video_id = transcript.check_script()
    (saved,) = box.output_dir.iterdir()
    assert saved.name.startswith(video_id) and str(saved) in transcript.results[-1][1]
    assert_mp4(saved)
    return [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
