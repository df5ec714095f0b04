"""Signed download URLs (phaseo-api.md §7) and webhook signatures (§11).

A download URL is ``{base}/videos/{id}/content?[index=N&]download_token=<b64url JSON>&
download_sig=<hex HMAC-SHA256>&expires_at=<unix>``. The token carries the video id, the output
index and the disposition; the signature covers ``"<token>.<expires_at>"``, so neither can be
altered. Expiry is checked against the emulated clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlencode

MIN_TTL = 60
MAX_TTL = 3600
DEFAULT_TTL = 900


@dataclass(frozen=True)
class SignedGrant:
    video_id: str
    index: int
    disposition: str


def clamp_ttl(ttl: int | None) -> int:
    return DEFAULT_TTL if ttl is None else max(MIN_TTL, min(MAX_TTL, ttl))


def _sig(secret: str, token: str, expires_at: int) -> str:
    msg = f"{token}.{expires_at}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def sign_download_url(
    secret: str,
    base_url: str,
    video_id: str,
    index: int,
    expires_at: int,
    disposition: str = "attachment",
) -> str:
    payload = json.dumps({"v": video_id, "i": index, "d": disposition}, separators=(",", ":"))
    token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    query: dict[str, str | int] = {}
    if index:
        query["index"] = index
    query |= {
        "download_token": token,
        "download_sig": _sig(secret, token, expires_at),
        "expires_at": expires_at,
    }
    return f"{base_url}/videos/{video_id}/content?{urlencode(query)}"


class SignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_download(
    secret: str, token: str, sig: str, expires_at: str, video_id: str, now: float
) -> SignedGrant:
    """Check a signed URL's parameters; raise ``SignatureError(reason)`` when they do not hold."""
    try:
        expires = int(expires_at)
    except ValueError:
        raise SignatureError("signed_download_invalid") from None
    if not hmac.compare_digest(_sig(secret, token, expires), sig):
        raise SignatureError("signed_download_invalid_signature")
    if now >= expires:
        raise SignatureError("signed_download_expired")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        grant = SignedGrant(str(data["v"]), int(data["i"]), str(data.get("d", "attachment")))
    except (ValueError, KeyError, TypeError):
        raise SignatureError("signed_download_invalid") from None
    if grant.video_id != video_id:
        raise SignatureError("signed_download_video_mismatch")
    return grant


def webhook_signature(secret: str, timestamp: int, raw_body: bytes) -> str:
    """hex(HMAC-SHA256(secret, "<timestamp>.<raw body>")) as §11 documents."""
    msg = str(timestamp).encode() + b"." + raw_body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
