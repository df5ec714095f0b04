"""`phaseo-mcp --version` and every subcommand's `--help`, with examples, as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from phaseo_mcp import __version__

SUBCOMMANDS = ["", "serve", "emulator", "demo", "doctor", "journal prune"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phaseo_mcp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_names_the_package_version() -> None:
    """`phaseo-mcp --version` prints the package's version."""
    done = _run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"phaseo-mcp {__version__}"


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=lambda c: c or "top")
def test_help_shows_examples_of_the_subcommand(command: str) -> None:
    """Each subcommand's --help has examples that run that subcommand."""
    done = _run(*command.split(), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: phaseo-mcp"), done.stdout[:200]
    _, _, examples = done.stdout.partition("examples:\n")
    assert examples, f"no examples in `phaseo-mcp {command} --help`"
    shown = [line.split() for line in examples.splitlines() if "phaseo-mcp" in line]
    words = command.split()
    # every subcommand's examples run that subcommand (the top level's may run any)
    assert shown and all(
        line[line.index("phaseo-mcp") + 1 : line.index("phaseo-mcp") + 1 + len(words)] == words
        for line in shown
    ), examples
