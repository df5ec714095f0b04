"""The benchmarks' quick mode runs in the suite so they cannot rot.

Only that every figure is produced is asserted: timings on a shared machine never decide
pass or fail.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)  # its own subprocess may take up to 240 s
@pytest.mark.skipif(shutil.which("curl") is None, reason="the download figure compares with curl")
def test_quick_mode_produces_every_figure(tmp_path: Path) -> None:
    """bench/run.py --quick runs to the end and writes every figure the results table lists."""
    sys.path.insert(0, str(REPO))
    try:
        from bench.run import EXPECTED_KEYS
    finally:
        sys.path.remove(str(REPO))
    out, figures_json = tmp_path / "results.md", tmp_path / "figures.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out),
         "--json", str(figures_json), "--log", str(tmp_path / "bench.log")],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    figures = {f["key"]: f for f in json.loads(figures_json.read_text())}
    assert set(figures) == set(EXPECTED_KEYS)
    for key, figure in figures.items():
        assert isinstance(figure["ratio"], float) and math.isfinite(figure["ratio"]), key
        assert figure["measured"], key
    report = out.read_text()
    for heading in ("| cpu |", "| python |", "| packages |", "| figure | ratio |"):
        assert heading in report
    assert "download_video" in completed.stdout
