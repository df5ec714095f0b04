"""Checks for single setting values (a URL, a dollar limit) that need nothing else of config."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_UNFILLED = re.compile(r"\$\{user_config\.[^}]*\}")
# Optional bundle fields whose blank means "no limit" (manifest.json gives them default "").
BLANK_MEANS_NO_LIMIT = frozenset({"PHASEO_MAX_COST_USD", "PHASEO_DAILY_BUDGET_USD"})


def left_blank_in_host(name: str, raw: str) -> bool:
    """Whether ``raw`` is an MCPB host's unfilled ``${user_config.…}`` placeholder for a
    setting whose blank means no limit (some hosts pass a field left blank through that way
    instead of as ""). Placeholders anywhere else stay errors: the doctor names them."""
    return name in BLANK_MEANS_NO_LIMIT and _UNFILLED.fullmatch(raw.strip()) is not None


def env_text(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value, stripped; None when it is empty or left blank in the host."""
    raw = env.get(name, "").strip()
    return None if not raw or left_blank_in_host(name, raw) else raw


def check_public_url(raw: str) -> str:
    """PHASEO_PUBLIC_URL: an https:// base, or http://localhost / 127.0.0.1 / [::1] for
    development (what the gateway accepts as a webhook URL); no trailing slash."""
    value = raw.strip()
    try:
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"}
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        local, port_ok, parts = False, False, urlsplit("")
    if (
        not (local or (parts.scheme == "https" and parts.hostname))
        or not port_ok
        or parts.query
        or parts.fragment
        or parts.username is not None
        or value.endswith("/")
    ):
        raise ValueError(
            f"PHASEO_PUBLIC_URL (or --public-url) must be this server's external base URL, "
            f"https://host[:port][/prefix] with no trailing slash, query or credentials (or "
            f"http://localhost or http://127.0.0.1 for development), not {raw!r}"
        )
    return value


def check_dollars(
    raw: str | float,
    name: str,
    *,
    rule: str = "a finite number of US dollars, 0 or more (e.g. 5 or 2.50)",
    then: str = "; unset it for no limit",
) -> float:
    """A dollar setting (text with an optional leading ``$``, or a number) as a finite amount of
    0 or more; anything else is a ValueError naming ``name`` (never silently "no limit")."""
    if isinstance(raw, str):
        try:
            value = float(raw.strip().removeprefix("$"))
        except ValueError:
            value = math.nan
    else:
        value = raw
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be {rule}, not {raw!r}{then}")
    return value


def parse_cost_ceiling(raw: str, name: str = "PHASEO_MAX_COST_USD") -> float:
    """PHASEO_MAX_COST_USD (or another dollar limit) as a number; a clear error for anything
    that is not one (never silently "no limit")."""
    return check_dollars(raw, name)


def origin_of(url: str) -> str:
    """``https://cdn.example.com:8443/a?b`` -> ``https://cdn.example.com:8443``; ValueError if
    it is not an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) origin such as https://cdn.example.com")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


def parse_megabytes(name: str, raw: str) -> float:
    """A finite number of megabytes, 0 or more; ValueError naming the variable otherwise."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of megabytes, 0 or more (e.g. 100), not {raw!r}")
    return value


def parse_origins(raw: str) -> tuple[str, ...]:
    """PHASEO_MEDIA_ORIGINS: comma- or space-separated http(s) origins, deduplicated."""
    found = [origin_of(item) for item in raw.replace(",", " ").split()]
    return tuple(dict.fromkeys(found))
