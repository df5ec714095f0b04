"""A copy of this checkout to build from (standard library only: dev.py imports it through
uvx.py before the venv has anything else)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = (".git", ".venv", ".cache", "build", "dist", "*.egg-info", "__pycache__", "node_modules")


def source_copy(dest: Path) -> Path:
    """This checkout without its venv, caches and build output, at ``dest``. setuptools writes
    egg-info, build/ and the sdist's staging folder into the tree it builds, so two builds of
    one tree at once (two xdist workers) break each other; each build gets its own copy."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*SKIP), symlinks=True)
    return dest
