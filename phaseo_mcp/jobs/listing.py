"""The jobs of one owner: the gateway's listing merged into the journal, outcome-unknown
creates reconciled (``reconcile.py``), and every job the gateway listed kept even when the
journal could not record it. The result's shape for the model is the server's job."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from phaseo_mcp.errors import PhaseoError, TransportError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.responses import VideoObject
from phaseo_mcp.jobs.journal import UNRESOLVED_STATES, JournalError
from phaseo_mcp.jobs.journal_faults import journal_warning
from phaseo_mcp.jobs.owned_gateway import OwnedGateway
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.jobs.reconcile import Reconciliation, Unresolved, reconcile
from phaseo_mcp.jobs.team_rows import TeamRows

if TYPE_CHECKING:
    from phaseo_mcp.jobs.journal import JobRecord, Journal

log = logging.getLogger(__name__)
MERGE_WINDOW_ROWS = 500  # journal rows compared with the gateway's listing


@dataclass
class Listing:
    """What is known of an owner's jobs: the journal's rows (newest first), the gateway's
    listing by id, and the listed jobs the journal could not record."""

    records: list[JobRecord] = field(default_factory=list)
    listed: dict[str, VideoObject] = field(default_factory=dict)
    unrecorded: list[VideoObject] = field(default_factory=list)
    plan: Reconciliation = field(default_factory=Reconciliation)
    gateway_reachable: bool = True
    note: str | None = None
    warning: str | None = None


async def list_owner_jobs(
    gateway: GatewayClient,
    journal: Journal | None,
    owner: Owner,
    *,
    statuses: Sequence[str] | None,
    limit: int,
    journal_error: str | None,
    owed: set[int],
    record: Callable[[Job], Awaitable[str | None]],
) -> Listing:
    """Merge the gateway's listing into the journal. ``owed``: rows of creates the gateway
    answered but the journal has not recorded; ``record`` writes one listed job's status
    (a warning when it could not)."""
    out = Listing(warning=None if journal is not None else journal_warning(f"{journal_error}"))
    # "unknown" is our name for a status we could not read, not one the gateway filters on.
    upstream_statuses = [s for s in statuses or () if s != "unknown"] or None
    unclaimed: list[VideoObject] = []  # --auth oauth: listed jobs no one's rows hold
    try:
        if isinstance(gateway, OwnedGateway):
            listing, unclaimed = await gateway.list_split(limit=limit, statuses=upstream_statuses)
        else:
            listing = await gateway.list(limit=limit, statuses=upstream_statuses)
    except PhaseoError as exc:
        if exc.failure_kind in ("config", "auth") or journal is None:
            raise
        out.gateway_reachable = False
        what = "could not be reached" if isinstance(exc, TransportError) else "refused the listing"
        out.note = f"The gateway {what} ({exc.message}); showing the local journal."
        listing = None
    listed = listing.data if listing is not None else []
    out.listed = {obj.id: obj for obj in listed}
    if journal is None:
        out.unrecorded = list(listed)
        return out
    try:
        out.plan, adopted = await _reconcile(journal, owner, listed, owed, unclaimed)
        listed = [*listed, *adopted]  # the caller's own lost creates, found among them
        out.listed |= {obj.id: obj for obj in adopted}
        for obj in listed:
            if failed := await record(Job.from_api(obj)):
                out.warning = out.warning or failed
                out.unrecorded.append(obj)
    except JournalError as exc:  # cannot write: the gateway's listing is shown as is
        log.warning("list_videos could not record the listing: %s", exc.message)
        out.warning = journal_warning(exc.message)
        out.unrecorded = list(listed)
    try:  # reads may still work (a lock held by another writer, a full disk)
        out.records = await anyio.to_thread.run_sync(
            lambda: journal.list_jobs(owner.key_fp, statuses=statuses, limit=limit, owner=owner.id)
        )
    except JournalError as exc:
        if listing is None:
            raise
        out.warning = out.warning or journal_warning(exc.message)
        out.unrecorded = list(listed)
    return out


async def _reconcile(
    journal: Journal,
    owner: Owner,
    listed: Sequence[VideoObject],
    owed: set[int],
    unclaimed: Sequence[VideoObject] = (),
) -> tuple[Reconciliation, list[VideoObject]]:
    """Link outcome-unknown rows to the one job that matches each; a job already linked to a
    create's row is never a candidate (a row a listing made for it, with no request, is).

    ``unclaimed`` (``--auth oauth``): listed jobs no owner's row holds. One becomes the
    caller's only when it matches one of their rows and no other person's lost create; it is
    never named as a mere candidate. Returns the plan and the unclaimed jobs linked."""
    rows = await anyio.to_thread.run_sync(
        lambda: journal.list_jobs(
            owner.key_fp, limit=MERGE_WINDOW_ROWS, include_deleted=True, owner=owner.id
        )
    )
    linked = {r.video_id for r in rows if r.video_id and r.fingerprint}
    unresolved = [_unresolved(r) for r in rows if _is_unresolved(r, owed)]
    mine = {row.row_id for row in unresolved}
    rivals: list[Unresolved] = []
    if unclaimed and unresolved:  # other people's lost creates compete for the same jobs
        lost = await anyio.to_thread.run_sync(
            lambda: TeamRows(journal).lost_creates(limit=MERGE_WINDOW_ROWS)
        )
        seen = {r.row_id for r in rows}  # the caller's own, and the key's from before owners
        rivals = [_unresolved(r) for r in lost if r.row_id not in seen]
    own_jobs = [obj for obj in listed if obj.id not in linked]
    plan = reconcile([*unresolved, *rivals], [*own_jobs, *unclaimed])
    visible = {obj.id for obj in own_jobs}
    plan.links = {row: link for row, link in plan.links.items() if row in mine}
    plan.candidates = {
        row: [vid for vid in found if vid in visible]
        for row, found in plan.candidates.items()
        if row in mine
    }
    for row_id, (video_id, _) in plan.links.items():
        await anyio.to_thread.run_sync(
            functools.partial(
                journal.attach_video_id,
                owner.key_fp,
                row_id,
                video_id,
                probable=True,
                owner=owner.id,
            )
        )
    taken = {video_id for video_id, _ in plan.links.values()}
    return plan, [obj for obj in unclaimed if obj.id in taken]


def _is_unresolved(r: JobRecord, owed: set[int]) -> bool:
    return (
        r.video_id is None
        and not r.deleted
        and r.state in UNRESOLVED_STATES
        and r.row_id not in owed
    )


def _unresolved(r: JobRecord) -> Unresolved:
    return Unresolved(r.row_id, r.request, r.created_at)
