"""The benchmarks of issue 8, in one command.

    python bench/run.py [--quick] [--out bench/results.md] [--only download,latency,...]

Prints a table and writes a Markdown report (date, machine, Python and package versions).
Every figure is a ratio of two things measured side by side in this run: absolute timings on
a shared machine are noise. ``--quick`` uses small sizes and few calls (the test suite runs
it so the benchmarks cannot rot; timings never decide pass or fail there).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO

import anyio

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import agents, coldstart, download, footprint, latency  # noqa: E402
from bench.common import Figure, machine_facts  # noqa: E402

SECTIONS = {
    "download": download,
    "latency": latency,
    "coldstart": coldstart,
    "agents": agents,
    "footprint": footprint,
}
EXPECTED_KEYS = (
    "download_throughput",
    "download_rss",
    "status_latency",
    "cold_start",
    "many_agents",
    "many_agents_webhooks",
    "tools_list_size",
    "status_result_size",
    "download_result_size",
)


def _verdict(figure: Figure) -> str:
    return {True: "met", False: "MISSED", None: "-"}[figure.met]


def _ratio(figure: Figure) -> str:
    if figure.ratio is None or math.isnan(figure.ratio):
        return "-"
    return f"{figure.ratio:.3f}"


def table(figures: list[Figure]) -> str:
    rows = ["| figure | ratio | target | verdict | measured |", "|---|---|---|---|---|"]
    for f in figures:
        rows.append(f"| {f.name} | {_ratio(f)} | {f.target} | {_verdict(f)} | {f.measured} |")
    return "\n".join(rows)


def report(figures: list[Figure], facts: dict[str, str], quick: bool, seconds: float) -> str:
    lines = [
        "# phaseo-mcp benchmarks",
        "",
        f"Mode: {'quick (small sizes, few calls: not for conclusions)' if quick else 'full'}; "
        f"took {seconds:.0f} s. Command: `python bench/run.py{' --quick' if quick else ''}`.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts.items()],
        "",
        "Each ratio compares two things measured side by side in this run (see each module's "
        "docstring in `bench/` for the method). The machine is shared and noisy: ratios, not "
        "absolute times, are the result.",
        "",
        table(figures),
        "",
        "## Notes",
        "",
    ]
    for f in figures:
        if f.note:
            lines.append(f"- **{f.name}**: {f.note}")
    analysis = Path(__file__).resolve().parent / "analysis.md"
    if not quick and analysis.is_file():
        lines += ["", analysis.read_text(encoding="utf-8").strip()]
    lines += ["", "## Details (raw numbers)", "", "```json"]
    lines.append(json.dumps({f.key: f.details for f in figures}, indent=1, default=str))
    lines += ["```", ""]
    return "\n".join(lines)


async def run_all(quick: bool, only: list[str], log: IO[str]) -> list[Figure]:
    figures: list[Figure] = []
    for name in only:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            figures += await SECTIONS[name].run(quick, log)
        except Exception:
            traceback.print_exc()
            raise
        print(f"[bench] {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, few calls")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report path")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--log", type=Path, default=None, help="server and emulator stderr (default: a temp file)"
    )
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    out = args.out or Path(__file__).resolve().parent / (
        "results-quick.md" if args.quick else "results.md"
    )
    log_path = args.log or Path(tempfile.gettempdir()) / "phaseo-bench.log"
    facts = machine_facts()
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        figures = anyio.run(run_all, args.quick, only, log)
    seconds = time.perf_counter() - started
    print(table(figures))
    out.write_text(report(figures, facts, args.quick, seconds), encoding="utf-8")
    if args.json:
        args.json.write_text(
            json.dumps([f.__dict__ for f in figures], indent=1, default=str), encoding="utf-8"
        )
    print(f"\nwrote {out} ({seconds:.0f} s; server/emulator stderr in {log_path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
