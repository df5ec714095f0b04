"""Parsing the price confirmation's settings (PHASEO_CONFIRM_ABOVE_USD,
PHASEO_REQUIRE_CONFIRMATION, PHASEO_MCP_STATE_KEYS); ``config.py`` reads them."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from phaseo_mcp.config_values import check_dollars

MIN_STATE_KEY_CHARS = 32  # PHASEO_MCP_STATE_KEYS: each key at least this long (the SDK's rule)
OFF_WORDS = frozenset({"off", "none", "never"})
_SWITCHES = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}  # fmt: skip


def parse_confirm_above(raw: str) -> float | None:
    """PHASEO_CONFIRM_ABOVE_USD: ``off`` (never ask) or an amount of 0 or more; anything else
    is an error naming the variable (never silently "off")."""
    text = raw.strip().lower()
    if text in OFF_WORDS:
        return None
    return check_dollars(
        raw,
        "PHASEO_CONFIRM_ABOVE_USD",
        rule="an amount of US dollars, 0 or more (0 asks for every priced job), or 'off' "
        "(never ask)",
        then="",
    )


def parse_switch(raw: str, name: str) -> bool:
    value = _SWITCHES.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"{name} must be 1 or 0 (true/false, yes/no), not {raw!r}")
    return value


def parse_state_keys(raw: str) -> tuple[SecretStr, ...]:
    """PHASEO_MCP_STATE_KEYS: comma-separated secrets shared by every replica; the first
    seals, all unseal (rotation). Each must be long enough to be a real secret."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    short = [n for n, k in enumerate(keys, start=1) if len(k) < MIN_STATE_KEY_CHARS]
    if short:
        raise ValueError(
            f"PHASEO_MCP_STATE_KEYS: key {short[0]} is shorter than {MIN_STATE_KEY_CHARS} "
            "characters; make each a random secret, e.g. the output of `openssl rand -hex 32`"
        )
    if len(set(keys)) != len(keys):
        raise ValueError("PHASEO_MCP_STATE_KEYS lists the same key twice")
    return tuple(SecretStr(k) for k in keys)


def confirmation_settings(text: Callable[[str], str | None]) -> dict[str, object]:
    """The three settings from the environment (``text``: a variable's stripped value)."""
    values: dict[str, object] = {}
    if (confirm := text("PHASEO_CONFIRM_ABOVE_USD")) is not None:
        values["confirm_above_usd"] = parse_confirm_above(confirm)
    if (required := text("PHASEO_REQUIRE_CONFIRMATION")) is not None:
        values["require_confirmation"] = parse_switch(required, "PHASEO_REQUIRE_CONFIRMATION")
    if keys := text("PHASEO_MCP_STATE_KEYS"):
        values["state_keys"] = parse_state_keys(keys)
    return values
