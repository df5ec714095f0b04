"""The journal's schema as numbered migrations, for both stores.

``schema_migrations`` holds one row per applied migration. :func:`migrate` runs inside the
store's set-up transaction, which each store takes exclusively (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL a transaction-scoped advisory lock), so two replicas starting at once apply each
migration once: the second waits, then finds it recorded. A failure rolls the whole upgrade
back. Migration 1 is the schema of the releases before migrations existed (every statement
``IF NOT EXISTS``), so a journal they wrote is simply recorded as version 1 and upgraded.

Rows written before migration 2 have no owner (NULL). They belong to whoever holds the key
that wrote them: they are listed for any owner using that key (``local`` on stdio, the key's
own owner under ``--multi-user``), as they were before owners existed.
"""

from __future__ import annotations

import time

from phaseo_mcp.jobs.budget_schema import BUDGET_MIGRATION
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_schema import SCHEMA, Transaction
from phaseo_mcp.jobs.task_records import TASKS_MIGRATION

# Each entry: the statements of one migration, numbered from 1 in list order. Never edit or
# reorder an entry once released: append a new one.
MIGRATIONS: list[list[str]] = [
    [s.strip() for s in SCHEMA.split(";") if s.strip()],
    [
        "ALTER TABLE jobs ADD COLUMN owner TEXT",
        "ALTER TABLE downloads ADD COLUMN owner TEXT",
        "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created_at)",
    ],
    # Webhook deliveries already acted on, by event id (jobs/webhook_events.py).
    [
        "CREATE TABLE IF NOT EXISTS webhook_events (event_id TEXT PRIMARY KEY, "
        "video_id TEXT NOT NULL, event_type TEXT NOT NULL, "
        "received_at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX IF NOT EXISTS webhook_events_received ON webhook_events (received_at)",
    ],
    TASKS_MIGRATION,  # the Tasks extension's task rows (jobs/task_records.py)
    BUDGET_MIGRATION,  # daily budgets (jobs/budget.py)
]
LATEST_VERSION = len(MIGRATIONS)


def migrate(tx: Transaction, pk: str) -> int:
    """Apply the migrations this journal lacks, in order; the version it is at afterwards.

    Refuses a journal that a newer phaseo-mcp migrated further than this one knows."""
    tx.run(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
    )
    row = tx.one("SELECT MAX(version) FROM schema_migrations")
    current = int(row[0]) if row is not None and row[0] is not None else 0
    _refuse_newer(current)
    for version, statements in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        for statement in statements:
            tx.run(statement.format(pk=pk))
        tx.run(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            (version, time.time()),
        )
    # Releases before migrations read journal_meta and refuse a newer journal: keep it current.
    meta = tx.one("SELECT value FROM journal_meta WHERE name = 'schema_version'")
    _refuse_newer(int(meta[0]) if meta is not None else 0)
    tx.run(
        "INSERT INTO journal_meta (name, value) VALUES ('schema_version', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (str(LATEST_VERSION),),
    )
    return LATEST_VERSION


def _refuse_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise JournalError(
            f"the job journal has schema version {version}, newer than this phaseo-mcp "
            f"understands ({LATEST_VERSION}); upgrade phaseo-mcp or point it at another journal",
            failure_kind="config",
        )
