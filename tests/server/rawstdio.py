"""``phaseo-mcp`` as a stdio subprocess driven with raw bytes: what a broken or hostile client
writes, and every line the server answers, read with timeouts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from helpers import INITIALIZED, TEST_KEY, TIME_SCALE, raw_initialize

INITIALIZE = raw_initialize("init")


def tool_call(request_id: int | str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


class RawStdio:
    """Writes bytes to the server's stdin; collects each stdout line as a parsed message."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.messages: list[dict[str, Any]] = []
        self.unparsed: list[bytes] = []
        self._arrived = anyio.Event()

    async def send_bytes(self, raw: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(raw)

    async def send(self, *messages: dict[str, Any]) -> None:
        await self.send_bytes(b"".join(json.dumps(m).encode() + b"\n" for m in messages))

    async def read_forever(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        async for chunk in self.process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    self.messages.append(json.loads(line))
                except ValueError:
                    self.unparsed.append(line)
            self._arrived.set()
            self._arrived = anyio.Event()

    def answer(self, request_id: Any) -> dict[str, Any] | None:
        return next(
            (
                m
                for m in self.messages
                if m.get("id") == request_id and ("result" in m or "error" in m)
            ),
            None,
        )

    def answers(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if "result" in m or "error" in m]

    async def until(self, predicate: Any, timeout: float = 30.0) -> None:
        with anyio.fail_after(timeout):
            while not predicate():
                await self._arrived.wait()

    async def initialize(self) -> None:
        await self.send(INITIALIZE)
        answer = await self.wait_answer("init")
        assert "result" in answer, answer
        await self.send(INITIALIZED)

    async def wait_answer(self, request_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        await self.until(lambda: self.answer(request_id) is not None, timeout)
        found = self.answer(request_id)
        assert found is not None
        return found


def server_env(base_url: str, output_dir: Path, state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASEO_")}
    env.update(
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=base_url,
        PHASEO_OUTPUT_DIR=str(output_dir),
        PHASEO_STATE_DIR=str(state_dir),
        PHASEO_TIME_SCALE=str(TIME_SCALE),
        PHASEO_TESTING_ZERO_RETRY_WAITS="1",
        PHASEO_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


@asynccontextmanager
async def raw_stdio_server(
    base_url: str,
    output_dir: Path,
    state_dir: Path,
    stderr: Path,
    *,
    initialize: bool = True,
    **extra: str,
) -> AsyncIterator[RawStdio]:
    """The server on stdio, initialized (legacy handshake) unless ``initialize`` is false
    (then call :meth:`RawStdio.initialize`); stderr goes to ``stderr``."""
    with stderr.open("ab") as err:
        process = await anyio.open_process(
            [sys.executable, "-m", "phaseo_mcp"],
            env=server_env(base_url, output_dir, state_dir, **extra),
            stderr=err,
        )
    try:
        raw = RawStdio(process)
        async with anyio.create_task_group() as tg:
            tg.start_soon(raw.read_forever)
            if initialize:
                await raw.initialize()
            yield raw
            tg.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
            with anyio.move_on_after(10):
                await process.wait()
        if process.returncode is None:
            process.kill()
            with anyio.move_on_after(10):
                await process.wait()
        await process.aclose()
