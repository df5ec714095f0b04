"""The doctor's row for price confirmation: the effective rule and the state keys."""

from __future__ import annotations

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.table import Check
from phaseo_mcp.jobs.confirm import rule_text


def check_confirmation(settings: Settings) -> Check:
    """What PHASEO_CONFIRM_ABOVE_USD and PHASEO_REQUIRE_CONFIRMATION make of a create, and
    whether stateless HTTP replicas could carry a question from one to another."""
    rule = rule_text(settings.confirm_above_usd, settings.require_confirmation)
    if settings.confirm_above_usd is None:
        return Check("price confirmation", "OK", rule)
    count = len(settings.state_keys)
    keys = (
        f"{count} shared state key(s) in PHASEO_MCP_STATE_KEYS: stateless HTTP replicas ask too"
        if count
        else "No PHASEO_MCP_STATE_KEYS: over --stateless HTTP no host is asked "
        "(stdio and stateful HTTP ask)"
    )
    return Check("price confirmation", "OK", f"{rule} {keys}.")
