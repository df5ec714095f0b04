"""Who a call belongs to: the owner that scopes journal rows, output folders, quotas and
session caps. Pure values and hashing; ``server/owner.py`` decides which one a call gets.

Owners are ``local`` (stdio, or HTTP with the operator's key), ``key-<fingerprint>`` (a
``--multi-user`` caller: a hash of its key, never the key) and ``oauth-<hash>`` (``--auth
oauth``: a hash of issuer and subject). Every id is a safe folder name on every platform.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from phaseo_mcp.jobs.fingerprint import key_fingerprint

LOCAL = "local"


@dataclass(frozen=True)
class Owner:
    """``id`` scopes what the caller owns; ``key_fp`` is the gateway key its calls use
    (the catalogue cache and the duplicate guard's request fingerprint go by the key)."""

    id: str
    key_fp: str

    @property
    def shared(self) -> bool:
        """True for owners that share a server with others: they get their own folder."""
        return self.id != LOCAL


def local_owner(operator_key: str | None) -> Owner:
    return Owner(LOCAL, key_fingerprint(operator_key))


def key_owner(caller_key: str) -> Owner:
    """A ``--multi-user`` caller: named by its key's fingerprint, so the same key is the
    same owner on every replica and after restarts."""
    fp = key_fingerprint(caller_key)
    return Owner(f"key-{fp}", fp)


def oauth_owner(issuer: str, subject: str, operator_key: str | None) -> Owner:
    """An ``--auth oauth`` user, named by a hash of issuer and subject (never the e-mail or
    raw ``sub``), calling the gateway with the operator's key. Its ``key_fp`` mixes the
    owner into the key's fingerprint, so its journal rows, duplicate guard and request
    fingerprints are its own, never shared with another person using the same key."""
    digest = hashlib.sha256(f"phaseo-mcp/oauth/{issuer}\n{subject}".encode()).hexdigest()
    owner_id = f"oauth-{digest[:24]}"
    scope = f"phaseo-mcp/owner-scope/{key_fingerprint(operator_key)}/{owner_id}"
    return Owner(owner_id, hashlib.sha256(scope.encode()).hexdigest()[:24])
