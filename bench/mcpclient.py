"""An MCP client session to a phaseo-mcp stdio child, plus that child's pid for measurements."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import psutil
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from bench.common import PYTHON, REPO


@contextlib.asynccontextmanager
async def stdio_session(
    env: dict[str, str], *, args: list[str] | None = None, errlog: IO[str] | None = None
) -> AsyncIterator[tuple[Client, psutil.Process]]:
    """``Client`` over stdio to ``python -m phaseo_mcp`` and the server's ``psutil.Process``."""
    args = args or ["-m", "phaseo_mcp"]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    params = StdioServerParameters(command=PYTHON, args=args, env=env, cwd=str(REPO))
    async with Client(
        stdio_client(params, errlog=errlog or sys.stderr), read_timeout_seconds=600
    ) as client:
        fresh = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        server = next(p for p in fresh if _is_server(p, args))
        yield client, server


def _is_server(proc: psutil.Process, args: list[str]) -> bool:
    with contextlib.suppress(psutil.Error):
        return proc.cmdline()[1:] == args
    return False


def structured(result: CallToolResult) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise RuntimeError(f"tool returned an error: {text[:500]}")
    assert result.structured_content is not None
    return dict(result.structured_content)


def vm_hwm_bytes(pid: int) -> int | None:
    """Peak resident set size of ``pid`` (``VmHWM``), or None off Linux."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def reset_hwm(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS (``echo 5 > /proc/PID/clear_refs``)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
