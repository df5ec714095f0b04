"""``python -m phaseo_mcp.emulator`` serves the cookbook's create → poll → content flow."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from phaseo_mcp.emulator.__main__ import build_parser

from emu_helpers import CREATE, KEY


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
