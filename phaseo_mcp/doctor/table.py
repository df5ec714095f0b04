"""The doctor's table: one row per check, a summary line, the exit status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

from phaseo_mcp import __version__

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def render_table(checks: Sequence[Check]) -> str:
    rows = [("CHECK", "STATUS", "DETAIL", "FIX")]
    rows += [(c.name, c.status, c.detail, c.fix) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summary(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("OK", "WARN", "FAIL")}
    verdict = "all checks passed" if not counts["FAIL"] else "setup has problems (see FIX)"
    return f"{counts['OK']} ok, {counts['WARN']} warning, {counts['FAIL']} failed: {verdict}"


def exit_status(checks: Sequence[Check]) -> int:
    return 1 if any(c.status == "FAIL" for c in checks) else 0


def write_report(checks: Sequence[Check], out: TextIO) -> int:
    """Write the title, the table and the summary to ``out`` (the CLI passes its stdout);
    return the exit status."""
    out.write(f"phaseo-mcp doctor {__version__}\n{render_table(checks)}\n{summary(checks)}\n")
    out.flush()
    return exit_status(checks)
