"""Has this owner already started this exact request within the duplicate-guard window?

Then a price confirmation is not asked again: the create goes on to the duplicate guard,
which answers with the earlier job (an agent's retry after a lost answer is not a second
dialog). Read-only; the claim in ``create.py`` stays the one that decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from phaseo_mcp.jobs.journal import Journal
from phaseo_mcp.jobs.journal_schema import Transaction

# The guard the claim would find: held (not released) and claimed within the window.
_HOLDER = (
    "SELECT j.owner FROM duplicate_guards g JOIN jobs j ON j.row_id = g.row_id "
    "WHERE g.key_fingerprint = ? AND g.fingerprint = ? AND g.released = 0 AND g.claimed_at > ?"
)


def already_started(
    journal: Journal,
    *,
    key_fp: str,
    fingerprint: str,
    owner: str,
    window_seconds: float,
    now: float | None = None,
) -> bool:
    """True when ``owner`` holds the duplicate guard of ``fingerprint`` (rows from before
    owners existed count as the key holder's). False when the store cannot say."""
    transaction: Callable[..., AbstractContextManager[Transaction]] | None = getattr(
        journal, "transaction", None
    )
    if transaction is None:
        return False
    moment = time.time() if now is None else now
    params: tuple[Any, ...] = (key_fp, fingerprint, moment - window_seconds)
    with transaction(write=False) as tx:
        row = tx.one(_HOLDER, params)
    return row is not None and row[0] in (owner, None)
