"""The journal under concurrent claims (threads, connections, processes), and its secrets.

The same tests run on the SQLite and the PostgreSQL store. Every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phaseo_mcp.jobs.journal import Claimed, Duplicate, Journal, JournalError
from phaseo_mcp.jobs.journal_open import open_journal

KEY = "key-fingerprint"
WINDOW = 600.0
T0 = 1_700_000_000.0
THREADS = 8
PROCESSES = 4
TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[2]


class Store:
    def __init__(self, url: str | None, state_dir: Path) -> None:
        self.url, self.state_dir = url, state_dir
        self.opened: list[Journal] = []

    def open(self) -> Journal:
        journal = open_journal(journal_url=self.url, state_dir=self.state_dir)
        self.opened.append(journal)
        return journal


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgres" else None
    made = Store(url, tmp_path / "state")
    yield made
    for journal in made.opened:
        journal.close()


def race(n: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in n threads released at the same moment; re-raise any failure."""
    barrier = threading.Barrier(n, timeout=TIMEOUT)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a racing thread did not finish in time"
    if errors:
        raise errors[0]
    return results


def claim(journal: Journal, fp: str, now: float = T0, **kw: Any) -> Claimed | Duplicate:
    return journal.claim(
        key_fingerprint=KEY,
        fingerprint=fp,
        base_url="https://gateway.test/v1",
        request=kw.pop("request", {"model": "m", "prompt": fp}),
        window_seconds=WINDOW,
        now=now,
        **kw,
    )


def assert_one_winner(results: list[Claimed | Duplicate]) -> int:
    winners = [r.record.row_id for r in results if isinstance(r, Claimed)]
    assert len(winners) == 1, f"{len(winners)} claims won"
    assert {r.existing.row_id for r in results if isinstance(r, Duplicate)} <= set(winners)
    return winners[0]


def test_simultaneous_claims_on_two_connections_make_one_job(store: Store) -> None:
    """Threads on two Journal objects claiming the same request at once: exactly one wins."""
    journals = [store.open(), store.open()]
    for round_ in range(3):
        fp = f"same-{round_}"
        results = race(THREADS, lambda i, fp=fp: claim(journals[i % 2], fp))  # type: ignore[misc]
        winner = assert_one_winner(results)
        rows = [j for j in journals[0].list_jobs(KEY, limit=100) if j.fingerprint == fp]
        assert [j.row_id for j in rows] == [winner]


def test_simultaneous_takeover_of_a_lapsed_or_released_guard_has_one_winner(store: Store) -> None:
    """When the guard's window has passed or its job failed, one racing claim takes it over."""
    journals = [store.open(), store.open()]
    first = claim(journals[0], "lapsed")
    assert isinstance(first, Claimed)
    later = T0 + WINDOW + 1
    assert_one_winner(race(THREADS, lambda i: claim(journals[i % 2], "lapsed", now=later)))
    failed = claim(journals[0], "failing")
    assert isinstance(failed, Claimed)
    journals[0].mark_created(failed.record.row_id, video_id="vid_f", status="queued")
    journals[0].record_status(KEY, "vid_f", status="failed")
    assert_one_winner(race(THREADS, lambda i: claim(journals[i % 2], "failing", now=T0 + 1)))


def test_simultaneous_opens_of_a_new_store_all_succeed(store: Store) -> None:
    """Replicas starting at once create the schema once, without errors."""
    opened = race(4, lambda i: store.open())
    assert all(isinstance(claim(j, f"open-{i}"), Claimed) for i, j in enumerate(opened))


CHILD = """
import json, sys, time
from pathlib import Path
from phaseo_mcp.jobs.journal import Claimed
from phaseo_mcp.jobs.journal_open import open_journal
url, state, go, ready = sys.argv[1] or None, Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
journal = open_journal(journal_url=url, state_dir=state)
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit(3)
    time.sleep(0.0005)
result = journal.claim(key_fingerprint="key-fingerprint", fingerprint="cross-process",
                       base_url="https://gateway.test/v1", request={"prompt": "p"},
                       window_seconds=600.0)
row = result.record if isinstance(result, Claimed) else result.existing
print(json.dumps({"claimed": isinstance(result, Claimed), "row_id": row.row_id}))
journal.close()
"""


def test_simultaneous_claims_from_separate_processes_make_one_job(
    store: Store, tmp_path: Path
) -> None:
    """Processes sharing the store (replicas) claiming the same request at once: one wins."""
    store.open().close()  # schema in place, so the race is about the claim
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                store.url or "",
                str(store.state_dir),
                str(go),
                str(tmp_path / f"ready-{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )  # fmt: skip
        for i in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + TIMEOUT
        while not all((tmp_path / f"ready-{i}").exists() for i in range(PROCESSES)):
            assert time.monotonic() < deadline, "child processes did not get ready"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=TIMEOUT)
    assert [p.returncode for p in procs] == [0] * PROCESSES, outputs
    answers = [json.loads(out) for out, _ in outputs]
    assert sum(a["claimed"] for a in answers) == 1
    assert len({a["row_id"] for a in answers}) == 1


WEBHOOK_SECRET = "whsec_journal_leak_check_7f3a"
API_KEY = "phaseo_v1_sk_journal_leak_check_9b1c"
SECRET_REQUEST = {
    "model": "m",
    "prompt": "a lighthouse at dusk",
    "webhook": {"url": "http://127.0.0.1:9/hook", "secret": WEBHOOK_SECRET},
    "api_key": API_KEY,
    "extra": [{"client_secret": WEBHOOK_SECRET, "X-Api-Key": API_KEY}],
}


def stored_text(store: Store) -> str:
    """Everything the store holds, as text (raw file bytes for SQLite, every row for PG)."""
    if store.url is None:
        files = sorted(store.state_dir.glob("journal.sqlite3*"))
        assert files
        return "".join(f.read_bytes().decode("latin-1") for f in files)
    import psycopg

    tables = ["jobs", "status_history", "downloads", "duplicate_guards", "journal_meta"]
    with psycopg.connect(store.url, connect_timeout=10) as conn:
        return "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(f"SELECT CAST(t AS TEXT) FROM {table} t").fetchall()
        )


def test_secrets_in_a_request_never_reach_the_store(store: Store) -> None:
    """A webhook secret or API key in the request is dropped before anything is written."""
    journal = store.open()
    result = claim(journal, "secretive", request=SECRET_REQUEST)
    assert isinstance(result, Claimed)
    assert result.record.request["webhook"] == {"url": "http://127.0.0.1:9/hook"}
    assert "api_key" not in result.record.request
    journal.mark_created(result.record.row_id, video_id="vid_s", status="queued")
    journal.record_status(KEY, "vid_s", status="completed", cost_usd=0.5)
    while_open = stored_text(store)  # for SQLite: the main file and the WAL
    journal.close()
    for text in (while_open, stored_text(store)):
        assert "127.0.0.1:9/hook" in text  # the scan does see the request
        assert WEBHOOK_SECRET not in text and API_KEY not in text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_unreachable_postgres_error_hides_the_password(tmp_path: Path) -> None:
    """A PostgreSQL journal that cannot be reached is a JournalError without the password."""
    pytest.importorskip("psycopg")
    url = f"postgresql://phaseo:pa55-w0rd-x9@127.0.0.1:{_closed_port()}/journal"
    with pytest.raises(JournalError) as info:
        open_journal(journal_url=url, state_dir=tmp_path)
    shown = f"{info.value} {info.value!r} {info.value.__cause__!r} {info.value.__context__!r}"
    assert "pa55-w0rd-x9" not in shown
    assert "127.0.0.1" in str(info.value) and info.value.failure_kind == "config"


def test_missing_psycopg_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without psycopg, a postgresql:// URL says which extra to pip install."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(JournalError, match=r"pip install 'phaseo-mcp\[postgres\]'"):
        open_journal(journal_url="postgres://u:secretpw@db.example/j", state_dir=tmp_path)
