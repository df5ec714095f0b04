"""Fixtures of the journal tests in this folder."""

from journal_stores import store

__all__ = ["store"]
