"""A private PostgreSQL server for the test session (a pytest plugin module).

``postgres_url`` (session): starts PostgreSQL once, on 127.0.0.1 at a free port with a private
socket directory and ``fsync=off``, and yields ``postgresql://postgres@127.0.0.1:PORT/postgres``;
stops it and removes its files at the end. As root (CI) the server runs as the ``postgres``
OS user, which is created when missing. Where PostgreSQL or psycopg is missing the tests that
use it skip with the reason (``python3 dev.py test`` installs Debian's ``postgresql``).
``fresh_postgres_url`` (function): a new empty database per test, dropped afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
_timings: dict[str, float] = {}


@dataclass
class _Server:
    proc: subprocess.Popen[bytes]
    root: Path
    url: str


def _find_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def _ensure_os_user() -> tuple[str | None, str]:
    """Whom to run PostgreSQL as (None: as ourselves); the second value is a skip reason."""
    if os.geteuid() != 0:
        return None, ""
    try:
        pwd.getpwnam("postgres")
        return "postgres", ""
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        return None, "running as root, no 'postgres' OS user and no useradd to create one"
    done = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        return None, f"could not create the 'postgres' OS user: {done.stderr.decode().strip()}"
    return "postgres", ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as(user: str | None) -> dict[str, object]:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> str | None:
    """None once the server accepts connections, else why it did not."""
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"postgres exited with {proc.returncode}: {log.read_text()[-2000:]}"
        try:
            with psycopg.connect(url, connect_timeout=2):
                return None
        except psycopg.OperationalError:
            time.sleep(0.05)
    return f"postgres did not accept connections within {START_TIMEOUT_SECONDS:.0f} s"


def _start() -> _Server:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'phaseo-mcp[postgres]')")
    bindir = _find_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip(
            "PostgreSQL server binaries (initdb, postgres) not found; install Debian's "
            "'postgresql' package (python3 dev.py test does so when it can)"
        )
    user, reason = _ensure_os_user()
    if reason:
        pytest.skip(f"cannot run PostgreSQL: {reason}")
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="phaseo-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "postgres.log"
    sockets.mkdir()
    log.touch()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, sockets, log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    as_user = _run_as(user)
    init = subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--locale=C", "--no-sync", "--no-instructions"],
        capture_output=True, timeout=120, check=False, cwd=root, **as_user,  # type: ignore[call-overload]
    )  # fmt: skip
    _timings["initdb"] = time.monotonic() - started
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.decode(errors='replace')[-1500:]}")
    failure = "not started"
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = _free_port()
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [bindir / "postgres", "-D", data, "-p", str(port), "-h", "127.0.0.1",
                 "-k", sockets, "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200",
                 "-c", "shared_buffers=32MB"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=root,
                **as_user,  # type: ignore[call-overload]
            )  # fmt: skip
        failure = _wait_ready(proc, url, log) or ""
        if not failure:
            _timings["start"] = time.monotonic() - started
            return _Server(proc, root, url)
        _stop(proc)
    shutil.rmtree(root, ignore_errors=True)
    pytest.skip(f"PostgreSQL did not start: {failure}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, then exit
        try:
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a private PostgreSQL server shared by the whole session."""
    server = _start()
    try:
        yield server.url
    finally:
        stopping = time.monotonic()
        _stop(server.proc)
        _timings["stop"] = time.monotonic() - stopping
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the session's server, dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _timings:
        shown = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in _timings.items())
        terminalreporter.write_line(f"private PostgreSQL: {shown}")
