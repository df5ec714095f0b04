"""``phaseo-mcp doctor``: every check, in table order, then the table."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from phaseo_mcp.config import Settings, find_template
from phaseo_mcp.doctor.confirm import check_confirmation
from phaseo_mcp.doctor.journal import check_cost_ceiling, check_journal
from phaseo_mcp.doctor.oauth import check_oauth
from phaseo_mcp.doctor.player import check_inline_player
from phaseo_mcp.doctor.probe import check_gateway
from phaseo_mcp.doctor.static import (
    check_directory,
    check_http_limits,
    check_key,
    check_packages,
    check_python,
    check_templates,
)
from phaseo_mcp.doctor.table import Check, write_report
from phaseo_mcp.doctor.webhooks import check_webhooks


def collect_checks(settings: Settings, environ: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in table order."""
    env = os.environ if environ is None else environ
    checks = [check_python(), *check_packages(), *check_templates(settings, env)]
    checks.extend(check_gateway(settings, check_key(settings)))
    checks.append(check_directory("output", "PHASEO_OUTPUT_DIR", settings.output_dir))
    if settings.journal_url:
        checks.append(Check("state dir", "OK", "journal in PHASEO_JOURNAL_URL (not checked)"))
    else:
        checks.append(check_directory("state", "PHASEO_STATE_DIR", settings.state_dir))
        if settings.state_dir.is_absolute() and not find_template(str(settings.state_dir)):
            checks.append(check_journal(settings))
    checks.append(check_cost_ceiling(settings))
    checks.append(check_confirmation(settings))
    checks.append(check_inline_player(settings))
    checks.append(check_http_limits(env))
    checks.append(check_webhooks(settings))
    checks.extend(check_oauth(settings))
    return checks


def run_doctor(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """Run every check, print the table; 0 when nothing failed (warnings allowed), else 1."""
    return write_report(collect_checks(settings, environ), out or sys.stdout)
