"""Stable fingerprints: of an API key (to scope journal rows without storing the key) and of
a create request (for the duplicate guard)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# A field holds a secret when its name (lower case, "-" read as "_") contains one of
# SECRET_PARTS or is one of SECRET_NAMES. Such fields are never hashed, stored or shown.
SECRET_PARTS = ("secret", "api_key")
SECRET_NAMES = frozenset({"apikey", "authorization", "token", "password", "access_token"})


def key_fingerprint(api_key: str | None) -> str:
    if not api_key:
        return "no-key"
    return hashlib.sha256(f"phaseo-mcp/key/{api_key}".encode()).hexdigest()[:24]


def is_secret_field(name: object) -> bool:
    """Whether a request field of this name holds a secret: the one place that decides."""
    text = str(name).lower().replace("-", "_")
    return text in SECRET_NAMES or any(part in text for part in SECRET_PARTS)


def without_secrets(value: Any) -> Any:
    """A copy of a request body (at any depth) with every secret field removed."""
    if isinstance(value, dict):
        return {str(k): without_secrets(v) for k, v in value.items() if not is_secret_field(k)}
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return value


def request_fingerprint(key_fp: str, base_url: str, body: dict[str, Any]) -> str:
    """Hash of the key's fingerprint, the base URL and the normalised body (secrets excluded)."""
    canonical = json.dumps(without_secrets(body), sort_keys=True, separators=(",", ":"))
    material = f"{key_fp}\n{base_url.rstrip('/')}\n{canonical}"
    return hashlib.sha256(material.encode()).hexdigest()
