"""The journal's two stores (SQLite and PostgreSQL) and the `store` fixture over both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phaseo_mcp.jobs.journal import Journal
from phaseo_mcp.jobs.journal_open import open_journal


@dataclass
class Store:
    kind: str
    url: str | None
    state_dir: Path
    opened: list[Journal] = field(default_factory=list)

    def open(self) -> Journal:
        journal = open_journal(journal_url=self.url, state_dir=self.state_dir)
        self.opened.append(journal)
        return journal

    def execute(self, statements: list[str], params: list[tuple[Any, ...]] | None = None) -> None:
        """Raw statements, as the old release ran them (``?`` placeholders)."""
        args = params or [()] * len(statements)
        if self.url is None:
            import sqlite3

            self.state_dir.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.state_dir / "journal.sqlite3") as conn:
                for sql, values in zip(statements, args, strict=True):
                    conn.execute(sql, values)
            return
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as conn:
            for sql, values in zip(statements, args, strict=True):
                conn.execute(sql.replace("?", "%s"), values)  # type: ignore[arg-type]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url is None:
            import sqlite3

            with sqlite3.connect(self.state_dir / "journal.sqlite3") as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as conn:
            return list(conn.execute(sql).fetchall())


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgres" else None
    made = Store(request.param, url, tmp_path / "state")
    yield made
    for journal in made.opened:
        journal.close()
