"""Fixtures the host tests share: one wheelhouse per session; per test a HOME, a project, an
emulator and the shell of a config form; per module an emulator and an HTTP server for the
tests that drive every file of a host against one of each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hostkit import Backend, User, backend_process
from local_servers import HTTP_TOKEN, emulator_process, http_server
from uvx import session_wheelhouse, uvx_env


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel and its dependencies' wheels, and the real uv, for the uvx forms."""
    return session_wheelhouse(tmp_path_factory)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    """The emulator whose clock the test moves, with the server's folders."""
    with backend_process(tmp_path / "emulator") as running:
        yield running


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator whose jobs finish in about 0.2 s, shared by a module's tests."""
    root = tmp_path_factory.mktemp("emulator")
    with emulator_process(root, "--job-seconds", "2", "--time-scale", "10") as url:
        yield url


@pytest.fixture(scope="module")
def http_url(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``phaseo-mcp serve --transport http`` accepting HTTP_TOKEN; its /mcp URL."""
    root = tmp_path_factory.mktemp("http-server")
    with http_server(
        emulator_url, root / "videos", root / "state", HTTP_TOKEN, root / "server.log"
    ) as replica:
        yield replica.url


def _made(folder: Path) -> Path:
    folder.mkdir()
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The host's own HOME, empty: no real configuration is read or written."""
    return _made(tmp_path / "home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The folder the host runs in, empty."""
    return _made(tmp_path / "project")


@pytest.fixture
def form() -> str:
    """The config form under test, unless a test parametrizes it."""
    return "checkout"


@pytest.fixture
def shell(
    form: str, backend: Backend, home: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """What the user's shell holds for the test's config ``form``, besides the key in
    :meth:`Backend.server_env`: uv on PATH resolving from the local wheels (uvx), or a running
    ``phaseo-mcp serve --transport http`` and its URL and token (http)."""
    if form == "uvx":
        yield uvx_env(home, request.getfixturevalue("wheelhouse"))
    elif form == "http":
        log = home.parent / "http-server.log"
        with http_server(
            backend.base_url, backend.output_dir, backend.state_dir, HTTP_TOKEN, log
        ) as replica:
            yield {"PHASEO_MCP_URL": replica.url, "PHASEO_MCP_TOKEN": HTTP_TOKEN}
    else:
        yield {}


@pytest.fixture
def user(backend: Backend, home: Path, project: Path, shell: dict[str, str]) -> User:
    """The user a host runs for: backend, HOME, project and the form's shell together."""
    return User(backend, home, project, shell)
