"""The job journal: a durable record of every create request, job and download.

This module is the API's types (records, the :class:`Journal` protocol), a leaf the stores
import; ``journal_open.py`` picks the store. Two stores share one schema and all the logic
(``journal_sql.py``): embedded SQLite, the default (``journal_sqlite.py``), and PostgreSQL for
replicas sharing one journal (``journal_postgres.py``, psycopg 3, an optional dependency).

The duplicate guard is a table whose primary key is (key_fingerprint, fingerprint). A claim
inserts its intent row, then ``INSERT ... ON CONFLICT DO NOTHING`` into the guard table and, if
the guard exists, a conditional ``UPDATE`` that takes it over only when it was released or
claimed before the window. A claim that gets no row back from either lost: its transaction
rolls back (nothing inserted) and it returns the guard's holder. Never read-then-write, so two
replicas claiming at the same moment make one job. Every read and the guard are scoped to a
key fingerprint: users never see or block each other's jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from phaseo_mcp.errors import FailureKind, PhaseoError

# "probable": an outcome-unknown create linked to the one gateway job that matched it
JobRowState = Literal["intent", "created", "outcome_unknown", "rejected", "probable"]
# Creates sent without a job id to show for them yet: listings try to match them to a job.
UNRESOLVED_STATES: tuple[JobRowState, ...] = ("intent", "outcome_unknown")
# A job in one of these states no longer holds the duplicate guard: a retry is a new job.
RELEASING_STATUSES = frozenset({"failed", "cancelled", "expired"})


class JournalError(PhaseoError):
    """The journal's store could not be opened or used. The message never holds a password."""

    failure_kind: FailureKind = "unavailable"


class JobRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    row_id: int
    key_fingerprint: str
    fingerprint: str
    base_url: str
    state: JobRowState
    video_id: str | None
    status: str | None
    model: str | None
    prompt: str | None
    request: dict[str, Any]
    cost_usd: float | None
    error: str | None
    deleted: bool
    created_at: float
    updated_at: float
    # None on rows from before owners (journal_migrations.py): they belong to the key's holder.
    owner: str | None = None


class DownloadRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    video_id: str
    index: int
    path: str
    size: int
    sha256: str
    created_at: float


class Duplicate(BaseModel):
    model_config = ConfigDict(frozen=True)

    existing: JobRecord


class Claimed(BaseModel):
    model_config = ConfigDict(frozen=True)

    record: JobRecord


class Journal(Protocol):
    """The journal API: synchronous and thread-safe (the server calls it via
    ``anyio.to_thread``). Times are unix seconds; ``now`` parameters are for tests.

    ``owner`` (``jobs/owner.py``) scopes rows within a key: rows are written with it, and
    reads see the owner's rows plus the key's rows from before owners existed (owner NULL).
    Without ``owner``, reads see every row of the key (the journal CLI, tests)."""

    def claim(
        self,
        *,
        key_fingerprint: str,
        fingerprint: str,
        base_url: str,
        request: dict[str, Any],
        window_seconds: float,
        allow_duplicate: bool = False,
        now: float | None = None,
        owner: str | None = None,
    ) -> Claimed | Duplicate:
        """Commit an intent row before the create request is sent. If this key claimed the
        same fingerprint less than ``window_seconds`` ago and that job was not released
        (rejected; failed, cancelled or expired; deleted), insert nothing and return
        ``Duplicate(existing)``. ``allow_duplicate`` always inserts (and takes the guard).
        Secret fields of ``request`` (``fingerprint.without_secrets``) are never stored."""

    def mark_created(
        self, row_id: int, *, video_id: str, status: str, cost_usd: float | None = None
    ) -> JobRecord:
        """The gateway answered the create with a job id."""

    def mark_outcome_unknown(self, row_id: int, *, error: str) -> JobRecord:
        """No answer to the create: the job may exist, so the row keeps its guard."""

    def mark_rejected(self, row_id: int, *, error: str) -> JobRecord:
        """The gateway answered an error and no id: no job exists, the guard is released."""

    def attach_video_id(
        self,
        key_fingerprint: str,
        row_id: int,
        video_id: str,
        *,
        probable: bool = False,
        owner: str | None = None,
    ) -> JobRecord:
        """Resolve an outcome-unknown (or intent) row once its job's id is known; a row a
        listing made for that id meanwhile is merged into it. ``probable``: the id was
        inferred by matching, not given by the gateway (state "probable")."""

    def record_status(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        status: str,
        cost_usd: float | None = None,
        error: str | None = None,
        now: float | None = None,
        owner: str | None = None,
    ) -> JobRecord | None:
        """Record a job's status (history gets a line only on change); failed, cancelled and
        expired release the guard. An unknown id (a job made elsewhere) gets a 'created' row
        with fingerprint '' and request {}."""

    def record_download(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        index: int,
        path: str,
        size: int,
        sha256: str,
        now: float | None = None,
        owner: str | None = None,
    ) -> None:
        """Record a finished download (path, bytes, sha256)."""

    def find_download(
        self,
        key_fingerprint: str,
        video_id: str,
        *,
        index: int,
        path: str | None = None,
        owner: str | None = None,
    ) -> DownloadRecord | None:
        """The latest download of that variant of the video to that path (to any path when
        ``path`` is None)."""

    def get(
        self, key_fingerprint: str, video_id: str, *, owner: str | None = None
    ) -> JobRecord | None:
        """The row of a job id (tombstones included)."""

    def list_jobs(
        self,
        key_fingerprint: str,
        *,
        statuses: Sequence[str] | None = None,
        limit: int = 20,
        include_deleted: bool = False,
        owner: str | None = None,
    ) -> list[JobRecord]:
        """Newest first. Rows without a status yet (intent, outcome unknown) are included and
        match the status 'unknown' in a filter."""

    def mark_deleted(
        self, key_fingerprint: str, video_id: str, *, owner: str | None = None
    ) -> JobRecord | None:
        """Tombstone: the row stays with ``deleted=True``; its guard is released."""

    def prune(self, *, older_than_days: float, now: float | None = None) -> int:
        """Delete rows last updated before the cutoff, with their history, downloads and
        guards; returns the number of rows removed. ``older_than_days=0`` removes all."""

    def close(self) -> None:
        """Release the store's connections."""

    def __enter__(self) -> Journal: ...

    def __exit__(self, *exc: object) -> None: ...


def redact_url(url: str) -> str:
    """The URL with its password (in the userinfo or a ``password=`` parameter) hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)]
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable journal URL>"
