"""Stable fingerprints: of an API key (to scope journal rows without storing the key) and of
a create request (for the duplicate guard)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

SECRET_FIELDS = frozenset({"secret", "api_key", "apikey", "authorization", "token"})


def key_fingerprint(api_key: str | None) -> str:
    if not api_key:
        return "no-key"
    return hashlib.sha256(f"phaseo-mcp/key/{api_key}".encode()).hexdigest()[:24]


def without_secrets(value: Any) -> Any:
    """A copy of a request body with every secret-looking field removed."""
    if isinstance(value, dict):
        return {
            k: without_secrets(v)
            for k, v in value.items()
            if str(k).lower().replace("-", "_") not in SECRET_FIELDS
        }
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def request_fingerprint(key_fp: str, base_url: str, body: dict[str, Any]) -> str:
    """Hash of the key's fingerprint, the base URL and the normalised body (secrets excluded)."""
    canonical = json.dumps(without_secrets(body), sort_keys=True, separators=(",", ":"))
    material = f"{key_fp}\n{base_url.rstrip('/')}\n{canonical}"
    return hashlib.sha256(material.encode()).hexdigest()
