"""stdio survives any input: an over-long line, invalid JSON and non-JSON-RPC messages are
answered with the JSON-RPC error the spec prescribes, and the server goes on serving."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from rawstdio import INITIALIZE, raw_stdio_server, server_env, tool_call

from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.server.stdio_pipes import MAX_LINE_BYTES

from helpers import SUNRISE

pytestmark = pytest.mark.anyio
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def _oversized(request_id: str) -> bytes:
    """A tools/call line just over the reader's limit."""
    head = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call"}
    body = json.dumps(head)[:-1] + ', "params": {"name": "create_video", "arguments": '
    padding = "x" * (MAX_LINE_BYTES + 1024)
    return (body + json.dumps({**SUNRISE, "prompt": padding}) + "}}\n").encode()


async def test_over_long_line_and_invalid_json_are_answered_then_a_call_succeeds(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Over-long line → -32600 under its id; invalid JSON → -32700 with id null; JSON that is
    no JSON-RPC request → -32600; then initialize and tools/call work on the same pipe, and
    nothing was paid for the bad lines."""
    log = tmp_path / "stderr.log"
    with anyio.fail_after(120):
        async with raw_stdio_server(
            emulator.base_url, output_dir, state_dir, log, initialize=False
        ) as raw:
            await raw.send_bytes(_oversized("huge"))
            too_long = await raw.wait_answer("huge")
            assert too_long["error"]["code"] == INVALID_REQUEST
            assert "MiB" in too_long["error"]["message"]

            await raw.send_bytes(b'{"jsonrpc": "2.0", "id": 7, "method": tools/list}\n')
            await raw.until(lambda: len(raw.answers()) == 2)
            parse = raw.answers()[-1]
            assert parse["id"] is None and parse["error"]["code"] == PARSE_ERROR

            await raw.send_bytes(b"\n   \n[1, 2, 3]\n")
            await raw.until(lambda: len(raw.answers()) == 3)
            not_rpc = raw.answers()[-1]
            assert not_rpc["id"] is None and not_rpc["error"]["code"] == INVALID_REQUEST

            await raw.send_bytes(b'{"jsonrpc": "2.0", "id": 8, "method": 5}\n')
            bad_method = await raw.wait_answer(8)
            assert bad_method["error"]["code"] == INVALID_REQUEST

            await raw.initialize()
            await raw.send(tool_call(9, "create_video", SUNRISE))
            created = await raw.wait_answer(9)
            await raw.send_bytes(b"{oops\n")  # and again after the handshake
            await raw.until(lambda: len(raw.answers()) == 7)
            assert raw.answers()[-1]["error"]["code"] == PARSE_ERROR
            assert raw.unparsed == []  # stdout carried only protocol lines
    assert not created["result"]["isError"], created
    assert created["result"]["structuredContent"]["video_id"]
    assert emulator.counters["create"] == 1  # only the real call made a job
    assert "Message too large" in log.read_text()


async def test_invalid_lines_are_answered_when_stdin_is_a_file(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    """The threaded fallback (stdin not a pipe) answers bad lines the same way."""
    script = tmp_path / "input.jsonl"
    init = json.dumps(INITIALIZE).encode()
    script.write_bytes(init + b"\n{not json\n[1, 2, 3]\n")
    env = server_env(emulator.base_url, output_dir, state_dir)
    with script.open("rb") as stdin, anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-m", "phaseo_mcp"], stdin=stdin, env=env, check=False
        )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["init", None, None]
    assert [a["error"]["code"] for a in answers[1:]] == [PARSE_ERROR, INVALID_REQUEST]
