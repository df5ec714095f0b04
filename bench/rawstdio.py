"""Raw newline-delimited JSON-RPC over a stdio child: no client library between us and it."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from typing import IO, Any

from bench.common import REPO, stop_process

PROTOCOL = "2025-11-25"


def initialize_lines() -> list[dict[str, Any]]:
    return [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                    "clientInfo": {"name": "phaseo-bench", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]  # fmt: skip


class RawSession:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._buffer = b""

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        self.proc.stdin.flush()

    def read_response(self, request_id: int, timeout: float = 60.0) -> bytes:
        """The raw line answering ``request_id`` (notifications before it are skipped)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                message = json.loads(line)
                if message.get("id") == request_id:
                    if "error" in message:
                        raise RuntimeError(f"request {request_id} failed: {message['error']}")
                    return line
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to request {request_id} within {timeout}s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"the server exited (code {self.proc.poll()})")
                self._buffer += chunk


@contextlib.contextmanager
def spawn(argv: list[str], env: dict[str, str], errlog: IO[str] | None) -> Iterator[RawSession]:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errlog if errlog is not None else subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    try:
        yield RawSession(proc)
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()
