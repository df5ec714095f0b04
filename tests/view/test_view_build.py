"""The committed player HTML is exactly what the pinned sources build, and self-contained."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from viewkit import COMMITTED, rebuild_player


@pytest.mark.timeout(900)  # npm ci on first use
@pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm")
def test_committed_player_matches_a_rebuild_from_pinned_sources(tmp_path: Path) -> None:
    """npm ci of view/package-lock.json, a strict tsc check, then node build.mjs gives the
    committed file, byte for byte (after changing view/src: `cd view && npm ci && node
    build.mjs`)."""
    out = tmp_path / "player.html"
    ok, detail = rebuild_player(out)
    assert ok, detail
    assert out.read_bytes() == COMMITTED.read_bytes(), "player.html is stale: rebuild it"


def test_committed_player_fetches_nothing_and_carries_the_licences() -> None:
    """One document: no external script, style, font or media reference; licences inside."""
    html = COMMITTED.read_text("utf-8")
    assert html.startswith("<!doctype html>")
    assert not re.search(r"<(script|link|img|source|iframe)[^>]+(src|href)=", html, re.I)
    assert "@import" not in html and "url(http" not in html
    assert "@modelcontextprotocol/ext-apps@" in html and "Permission is hereby granted" in html
