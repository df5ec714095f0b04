"""The doctor's live probe: one ``GET {base}/videos/models``. Does the base URL answer, and is
the key accepted? What each answer means is the table ``OUTCOMES``.

It uses httpx directly (one request, short timeouts) rather than the gateway client, so it
keeps working when the rest of the package is broken, and it never shows the key: only its
masked form (prefix, two characters, length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from phaseo_mcp.config import (
    DEFAULT_BASE_URL,
    PROBE_CONNECT_TIMEOUT_SECONDS,
    PROBE_READ_TIMEOUT_SECONDS,
    Settings,
    is_loopback,
)
from phaseo_mcp.doctor.table import Check, Status
from phaseo_mcp.gateway.errors import KEY_HELP
from phaseo_mcp.gateway.transport import client_options
from phaseo_mcp.logs import masked_key

OLD_HOSTS = {"api.ai-stats.phaseo.app"}


@dataclass(frozen=True)
class Outcome:
    """What one kind of answer means: the base URL's row (``None``: the URL answered as it
    should) and the key's. Texts are formatted with base, target, status, location, error."""

    base: Status | None
    detail: str = ""
    fix: str = ""
    key: Literal["unverified", "rejected", "accepted", "unchecked"] = "unverified"
    reason: str = ""  # why the key stays unverified


OUTCOMES: dict[str, Outcome] = {
    "timeout": Outcome(
        "FAIL",
        f"{{base}} unreachable: no answer within {PROBE_READ_TIMEOUT_SECONDS:g} s",
        "check your network, proxy (HTTPS_PROXY) or PHASEO_BASE_URL",
        reason="the gateway did not answer",
    ),
    "unreachable": Outcome(
        "FAIL",
        "{base} unreachable: {error}",
        f"check the host in PHASEO_BASE_URL (default {DEFAULT_BASE_URL}), your network and proxy",
        reason="the gateway did not answer",
    ),
    "redirect": Outcome(
        "FAIL",
        "{target} redirects ({status}) to {location}",
        "set PHASEO_BASE_URL to the final URL (https, ending in /v1)",
        reason="the base URL redirects",
    ),
    "no video API": Outcome(
        "FAIL",
        "{target} -> 404: no video API at this base URL",
        f"PHASEO_BASE_URL must end with /v1, e.g. {DEFAULT_BASE_URL}",
        reason="no video API at the base URL",
    ),
    "key not sent": Outcome(None, key="unchecked"),
    "rejected": Outcome(None, key="rejected"),
    "accepted": Outcome(None, key="accepted"),
    "disabled": Outcome(
        "WARN",
        "{target} -> 501: the gateway has video routes switched off",
        "video generation is unavailable on this gateway right now; try again later",
        reason="the video routes are disabled",
    ),
    "failing": Outcome(
        "FAIL",
        "{target} -> HTTP {status}",
        "the gateway is failing; retry later or check PHASEO_BASE_URL",
        reason="the gateway answered HTTP {status}",
    ),
}
# Which outcome an HTTP status means, first match wins. Rows marked False apply whether or
# not the key was sent; the others only when it was ("key not sent" otherwise).
BY_STATUS: tuple[tuple[range, str, bool], ...] = (
    (range(300, 400), "redirect", False),
    (range(404, 405), "no video API", False),
    (range(401, 402), "rejected", True),
    (range(403, 404), "rejected", True),
    (range(200, 201), "accepted", True),
    (range(501, 502), "disabled", True),
    (range(0, 1000), "failing", True),
)


def check_base_url(settings: Settings) -> Check | None:
    """Problems visible in the URL itself; None when it looks right."""
    url = settings.base_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check(
            "base url",
            "FAIL",
            f"PHASEO_BASE_URL is not an http(s) URL: {url!r}",
            f"unset PHASEO_BASE_URL to use {DEFAULT_BASE_URL}",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return Check(
            "base url",
            "FAIL",
            f"{url} is plain http to a remote host: the key would travel unencrypted",
            f"use https (the default is {DEFAULT_BASE_URL})",
        )
    return None


def outcome_of(status: int, *, key_sent: bool) -> str:
    for statuses, name, needs_key in BY_STATUS:
        if status in statuses and (key_sent or not needs_key):
            return name
    return "key not sent"


def check_gateway(settings: Settings, key_check: Check) -> list[Check]:
    """One ``GET {base}/videos/models``: does the base URL answer, and is the key accepted?"""
    url_problem = check_base_url(settings)
    if url_problem:
        return [url_problem, _key_unverified(key_check, "the base URL is not usable")]
    base = settings.base_url.rstrip("/")
    target = f"{base}/videos/models"
    key = settings.api_key_value() or ""
    key_sent = bool(key) and key_check.status != "FAIL"
    headers = {"Accept": "application/json", "User-Agent": "phaseo-mcp-doctor"}
    if key_sent:
        headers["Authorization"] = f"Bearer {key}"
    options = client_options(connect=PROBE_CONNECT_TIMEOUT_SECONDS, read=PROBE_READ_TIMEOUT_SECONDS)
    fields = {"base": base, "target": target, "status": "", "location": "", "error": ""}
    try:
        with httpx.Client(trust_env=True, **options) as client:
            response = client.get(target, headers=headers)
    except httpx.TimeoutException:
        return _rows(OUTCOMES["timeout"], fields, key_check)
    except httpx.HTTPError as exc:
        fields["error"] = _describe_error(exc)
        return _rows(OUTCOMES["unreachable"], fields, key_check)
    status = response.status_code
    fields.update(status=str(status), location=response.headers.get("location", "?"))
    outcome = OUTCOMES[outcome_of(status, key_sent=key_sent)]
    host = urlsplit(base).hostname or ""
    if host in OLD_HOSTS:
        base_check = Check(
            "base url", "WARN", f"{base} is the gateway's old host", f"use {DEFAULT_BASE_URL}"
        )
    else:
        base_check = Check("base url", "OK", f"{base} answers (GET /videos/models -> {status})")
    if outcome.key == "rejected":
        key_row = Check(
            "api key",
            "FAIL",
            f"key rejected by {host} (HTTP {status}) {masked_key(key)}",
            "the key is wrong, revoked or for another gateway. " + KEY_HELP,
        )
    elif outcome.key == "accepted":
        detail = f"{key_check.detail}; accepted ({_count_models(response)} video models)"
        key_row = Check("api key", key_check.status, detail, key_check.fix)
    else:
        return _rows(outcome, fields, key_check, base_check)
    return [base_check, key_row]


def _rows(
    outcome: Outcome, fields: dict[str, str], key_check: Check, base_check: Check | None = None
) -> list[Check]:
    """The base URL's row and the key's, for an outcome that leaves the key unverified."""
    if outcome.base is None:
        assert base_check is not None
        base_row = base_check
    else:
        base_row = Check(
            "base url", outcome.base, outcome.detail.format(**fields), outcome.fix.format(**fields)
        )
    if outcome.key == "unchecked":
        return [base_row, key_check]
    return [base_row, _key_unverified(key_check, outcome.reason.format(**fields))]


def _key_unverified(key_check: Check, reason: str) -> Check:
    if key_check.status == "FAIL":
        return key_check
    return Check(
        "api key",
        "WARN",
        f"{key_check.detail}; not verified ({reason})",
        key_check.fix or "fix the base URL, then run phaseo-mcp doctor again",
    )


def _describe_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})" if str(exc) else "connection failed"
    return f"{type(exc).__name__}: {exc}"


def _count_models(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "?"
    data = body.get("data") if isinstance(body, dict) else None
    return str(len(data)) if isinstance(data, list) else "?"
