"""`python -m build` makes an sdist and a wheel; the wheel installs into an empty venv and
`phaseo-mcp demo` runs from it, using the sample MP4 packaged inside the wheel.

Slow (a build and an install), but it runs in CI: it is the only test that sees the package
the way a user of `pip install phaseo-mcp` / `uvx phaseo-mcp` does, without the source tree.
Dependencies come from the configured package index (pip's cache makes reruns quick).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from phaseo_mcp import __version__

from client_configs import REPO_ROOT
from source_tree import source_copy

BUILD_TIMEOUT_SECONDS = 600
INSTALL_TIMEOUT_SECONDS = 900
RUN_TIMEOUT_SECONDS = 180
SAMPLE = "phaseo_mcp/emulator/data/sample.mp4"

# Builds wheels and installs them into fresh venvs: longer than the default bound.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(
    cmd: list[str], *, timeout: float, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=cwd
    )
    assert result.returncode == 0, (
        f"{' '.join(cmd)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result


def _clean_env(home: Path) -> dict[str, str]:
    """No PHASEO_* and no PYTHONPATH: the installed package must stand on its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHASEO_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(home)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    home = tmp_path_factory.mktemp("home")
    env = _clean_env(home)
    # pip's cache lives under HOME; keep the developer's so reruns do not download again.
    env["PIP_CACHE_DIR"] = os.environ.get(
        "PIP_CACHE_DIR", str(Path(os.path.expanduser("~")) / ".cache" / "pip")
    )
    # No --sdist/--wheel: build makes the sdist, then the wheel *from the sdist*, which proves
    # the sdist is complete and keeps a stale build/ folder in the checkout out of the wheel.
    _run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source_copy(home / "src"))],
        timeout=BUILD_TIMEOUT_SECONDS,
        env=env,
        cwd=out,
    )
    yield out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {dist}: {found}"
    return found[0]


def test_build_makes_an_sdist_and_a_wheel_of_this_version(dist: Path) -> None:
    """One sdist and one pure-Python wheel, both named with phaseo_mcp.__version__."""
    _one(dist, f"phaseo_mcp-{__version__}.tar.gz")
    _one(dist, f"phaseo_mcp-{__version__}-py3-none-any.whl")


def test_wheel_contains_the_sample_video_and_typing_marker(dist: Path) -> None:
    """The emulator's sample MP4 (the demo needs it) and py.typed are in the wheel."""
    wheel = _one(dist, "*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert SAMPLE in names
        assert archive.getinfo(SAMPLE).file_size > 0
        assert "phaseo_mcp/py.typed" in names
        assert archive.getinfo("phaseo_mcp/server/view/player.html").file_size > 0  # MCP Apps
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "phaseo-mcp = phaseo_mcp.cli:main" in archive.read(entry_points).decode()
    assert not any(name.startswith("tests/") for name in names)
    # Every module of the source tree ships (a missing __init__.py silently drops a subpackage).
    sources = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "phaseo_mcp").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources - names == set(), "modules missing from the wheel"


def test_sdist_contains_the_package_data(dist: Path) -> None:
    """The sdist can rebuild the wheel: it carries the sample video and pyproject.toml."""
    sdist = _one(dist, "*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert SAMPLE in names
    assert "pyproject.toml" in names


def test_wheel_installs_into_an_empty_venv_and_the_demo_runs(dist: Path, tmp_path: Path) -> None:
    """pip install the wheel into a fresh venv; `phaseo-mcp demo` exits 0 and writes an .mp4."""
    wheel = _one(dist, "*.whl")
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home)
    env["PIP_CACHE_DIR"] = os.environ.get(
        "PIP_CACHE_DIR", str(Path(os.path.expanduser("~")) / ".cache" / "pip")
    )
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    _run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)],
        timeout=INSTALL_TIMEOUT_SECONDS,
        env=env,
        cwd=tmp_path,
    )
    cli = bin_dir / ("phaseo-mcp.exe" if os.name == "nt" else "phaseo-mcp")
    assert cli.exists()

    # Run away from the source tree so nothing is imported from the checkout.
    where = _run(
        [str(python), "-c", "import phaseo_mcp; print(phaseo_mcp.__file__)"],
        timeout=RUN_TIMEOUT_SECONDS,
        env=env,
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(target), where.stdout

    version = _run([str(cli), "--version"], timeout=RUN_TIMEOUT_SECONDS, env=env, cwd=tmp_path)
    assert __version__ in version.stdout

    out = tmp_path / "demo-videos"
    _run(
        [str(cli), "demo", "--output-dir", str(out)],
        timeout=RUN_TIMEOUT_SECONDS,
        env=env,
        cwd=tmp_path,
    )
    videos = list(out.rglob("*.mp4"))
    assert videos, f"demo wrote no .mp4 under {out}"
    assert all(video.stat().st_size > 0 for video in videos)
