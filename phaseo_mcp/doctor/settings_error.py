"""The doctor's report when the settings cannot even be built (``PHASEO_MAX_COST_USD=abc``):
which variable, and why."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from pydantic import ValidationError

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.static import (
    check_packages,
    check_python,
    is_secret_name,
    template_problems,
)
from phaseo_mcp.doctor.table import Check, write_report
from phaseo_mcp.logs import masked_key


def _rejects(name: str, env: Mapping[str, str]) -> bool:
    """Does this one variable, alone, make the settings invalid?"""
    try:
        Settings.from_env({name: env[name]})
    except ValueError:  # pydantic's ValidationError is a ValueError too
        return True
    return False


def report_settings_error(
    error: Exception,
    environ: Mapping[str, str] | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """Print the checks that need no settings and the settings' error; always 1."""
    env = os.environ if environ is None else environ
    checks = [check_python(), *check_packages()]
    for name in sorted(env):
        if name.startswith("PHASEO_"):
            checks.extend(template_problems(name, env[name], secret=is_secret_name(name)))
    if isinstance(error, ValidationError):
        message = "; ".join(
            f"PHASEO_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors()
        )
    else:
        message = str(error).strip() or type(error).__name__
    key = env.get("PHASEO_API_KEY", "").strip()
    if key:
        message = message.replace(key, masked_key(key))
    first_line = message.splitlines()[0]
    culprits = [name for name in sorted(env) if name.startswith("PHASEO_") and _rejects(name, env)]
    if culprits and not any(name in first_line for name in culprits):
        first_line = f"{', '.join(culprits)}: {first_line}"
    checks.append(
        Check(
            "settings",
            "FAIL",
            f"the configuration is invalid: {first_line}",
            "fix the PHASEO_* variable or flag named above (see phaseo-mcp --help)",
        )
    )
    return write_report(checks, out or sys.stdout)
