"""``python -m phaseo_mcp.emulator`` serves the cookbook's create → poll → content flow, and the
installed console script ``phaseo-mcp emulator`` (the cli.py path) serves on a chosen port."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from phaseo_mcp.emulator.__main__ import build_parser

from emu_helpers import CREATE, KEY
from helpers import stop_process


def test_parser_defaults_match_the_issue() -> None:
    """Port 8787, 10 s jobs, poll_after 2, r3 by default."""
    args = build_parser().parse_args([])
    assert (args.port, args.job_seconds, args.poll_after, args.vocabulary) == (8787, 10.0, 2, "r3")


@pytest.mark.slow
def test_module_runs_and_serves_a_job_with_the_cookbook_calls() -> None:
    """The CLI prints its URL and key; a fast job goes create → poll → content."""
    cmd = [sys.executable, "-m", "phaseo_mcp.emulator", "--port", "0", "--job-seconds", "0.5",
           "--keys", KEY]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line
        base = match.group(1)
        assert KEY in proc.stdout.readline()
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            job = c.post("/videos", json=CREATE)
            assert job.status_code == 202
            vid = job.json()["id"]
            deadline = time.monotonic() + 10
            while c.get(f"/videos/{vid}").json()["status"] != "completed":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            content = c.get(f"/videos/{vid}/content")
            assert content.status_code == 200 and content.content[4:8] == b"ftyp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _console_script() -> str:
    """The phaseo-mcp entry point installed beside this interpreter (.venv/bin/phaseo-mcp)."""
    found = shutil.which("phaseo-mcp", path=str(Path(sys.executable).parent))
    assert found, f"phaseo-mcp is not installed beside {sys.executable}"
    return found


def _wait_until_serving(proc: subprocess.Popen[str], base: str, seconds: float) -> httpx.Response:
    """Poll GET /videos/models with a valid key until it answers (bounded), or the process dies."""
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=2) as c:
        while True:
            assert proc.poll() is None, f"the emulator exited with {proc.returncode}"
            try:
                return c.get("/videos/models")
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"nothing answered on {base} in {seconds}s"
                time.sleep(0.05)


@pytest.mark.slow
def test_console_script_serves_models_on_the_chosen_port() -> None:
    """`phaseo-mcp emulator --port N` (the installed entry point, through cli.main) answers
    GET /v1/videos/models on 127.0.0.1:N with a valid key, refuses a bad key, and stops."""
    script = _console_script()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _attempt in range(3):  # another process may take the free port before the child binds
        port = _free_port()
        proc = subprocess.Popen(
            [script, "emulator", "--port", str(port)], env=env, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}/v1"
            try:
                models = _wait_until_serving(proc, base, seconds=20)
            except AssertionError:
                stop_process(proc)
                assert proc.stderr is not None
                if "cannot listen" in proc.stderr.read():
                    continue
                raise
            with httpx.Client(base_url=base, timeout=5) as anon:
                refused = anon.get("/videos/models", headers={"Authorization": "Bearer nope"})
        finally:
            stop_process(proc)
            if proc.stderr is not None:
                proc.stderr.close()
        break
    else:
        pytest.fail("no free port could be bound in 3 attempts")
    assert models.status_code == 200, models.text
    listing = models.json()
    assert listing["object"] == "list"
    assert "google/veo-3.1-lite" in {m["model"] for m in listing["data"]}
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorised"
    assert proc.returncode is not None  # terminated within the bound
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as c:
        c.get(f"{base}/videos/models")
