"""Figure 3: cold start, spawn → tools/list answered, phaseo-mcp vs a minimal MCPServer.

Raw JSON-RPC over the child's stdin/stdout (initialize, initialized, tools/list written at
once), timed from just before ``Popen`` to the tools/list answer. Runs alternate the two
servers; one untimed run of each first warms the page cache. Median of N.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

from bench.common import PYTHON, REPO, Figure, median, server_env, workdir
from bench.rawstdio import initialize_lines, spawn


def time_to_tools_list(argv: list[str], env: dict[str, str], log: IO[str]) -> float:
    start = time.perf_counter()
    with spawn(argv, env, log) as session:
        session.send(*initialize_lines(), {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        session.read_response(2)
        elapsed = time.perf_counter() - start
    return elapsed


def commands(wd: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    # No gateway is contacted before a tool call; the base URL only has to be well-formed.
    env = server_env("http://127.0.0.1:9/v1", wd)
    return {
        "phaseo": ([PYTHON, "-m", "phaseo_mcp"], env),
        "minimal": ([PYTHON, str(REPO / "bench" / "minimal_server.py")], env),
    }


async def run(quick: bool, log: IO[str]) -> list[Figure]:
    runs = 3 if quick else 15
    times: dict[str, list[float]] = {"phaseo": [], "minimal": []}
    with workdir("coldstart") as wd:
        cmds = commands(wd)
        for argv, env in cmds.values():  # warm the page cache and the journal
            time_to_tools_list(argv, env, log)
        for i in range(runs):
            order = ("phaseo", "minimal") if i % 2 == 0 else ("minimal", "phaseo")
            for name in order:
                argv, env = cmds[name]
                times[name].append(time_to_tools_list(argv, env, log))
    ours, base = median(times["phaseo"]), median(times["minimal"])
    ratio = ours / base
    return [
        Figure(
            key="cold_start",
            name="cold start to tools/list, phaseo-mcp vs minimal MCPServer",
            measured=(
                f"{ours * 1000:.0f} ms vs {base * 1000:.0f} ms (median of {runs}; "
                f"+{(ours - base) * 1000:.0f} ms)"
            ),
            ratio=ratio,
            target="<= 1.15x minimal",
            met=ratio <= 1.15,
            details={"phaseo_s": times["phaseo"], "minimal_s": times["minimal"]},
        )
    ]
