"""Reads across every person's rows (``jobs/team_rows.py``), on SQLite and PostgreSQL: which
job ids any row holds, and which creates anywhere still wait for a job id."""

from __future__ import annotations

import pytest
from test_journal import KEY_A, KEY_B, T0, claim, create

from phaseo_mcp.jobs.journal import Claimed, Journal
from phaseo_mcp.jobs.team_rows import TeamRows

from journal_stores import Store


@pytest.fixture
def journal(store: Store) -> Journal:
    return store.open()


def test_any_persons_row_holds_a_job_and_lost_creates_are_seen_across_keys(
    journal: Journal,
) -> None:
    """A job recorded under one key is held for everyone; intents and outcome-unknown
    creates of every key are listed newest first; answered ones are not."""
    create(journal, "G-bob", key=KEY_B)
    team = TeamRows(journal)
    assert team.holds("G-bob") and not team.holds("G-nobody")
    lost = claim(journal, key=KEY_A, fp="a" * 64, now=T0 + 1)
    intent = claim(journal, key=KEY_B, fp="b" * 64, now=T0 + 2)
    assert isinstance(lost, Claimed) and isinstance(intent, Claimed)
    journal.mark_outcome_unknown(lost.record.row_id, error="connection dropped")
    create(journal, "G-answered", key=KEY_A, now=T0 + 3)
    newest_first = [intent.record.row_id, lost.record.row_id]
    assert [r.row_id for r in team.lost_creates(limit=10)] == newest_first
    assert [r.row_id for r in team.lost_creates(limit=1)] == newest_first[:1]
    assert team.holds("G-answered")
