"""The doctor's checks that need no network: Python, packages, templates, the key's shape,
folders and HTTP limits. Each names the variable involved and says how to fix it."""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from packaging.requirements import Requirement

from phaseo_mcp.config import HttpLimits, Settings, find_template
from phaseo_mcp.config_values import left_blank_in_host
from phaseo_mcp.doctor.table import Check
from phaseo_mcp.gateway.errors import KEY_HELP
from phaseo_mcp.logs import KEY_SHAPE, masked_key

MIN_PYTHON = (3, 11)
DISTRIBUTION = "phaseo-mcp"
CURRENT_KEY_PREFIX = "phaseo_v1_sk_"
LEGACY_KEY_PREFIX = "aistats_v1_sk_"
LEGACY_KEY_SUNSET = "2027-01-01"
# A bare ``$HOME`` in a JSON config is never expanded by the client; lower confidence, so WARN.
SHELL_VARIABLE = re.compile(r"\$[A-Z_][A-Z0-9_]*")
PLACEHOLDER_WORDS = re.compile(r"REPLACE|YOUR[_-]?KEY|<[^>]*>|CHANGEME", re.IGNORECASE)
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    if sys.version_info[:2] < MIN_PYTHON:
        return Check(
            "python",
            "FAIL",
            f"Python {version} at {sys.executable}",
            "phaseo-mcp needs Python 3.11 or newer; `uvx phaseo-mcp` picks one for you",
        )
    return Check("python", "OK", f"Python {version} at {sys.executable}")


def _requirements() -> Iterator[Requirement]:
    """What phaseo-mcp itself requires (its Requires-Dist, extras left out): from the installed
    metadata, or, running from a source tree, from the pyproject.toml beside the package."""
    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            declared = tomllib.loads(pyproject.read_text("utf-8"))["project"]["dependencies"]
        except (OSError, ValueError, KeyError):
            declared = []
    for line in declared:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            yield requirement


def check_packages() -> list[Check]:
    """phaseo-mcp's version, and each package it requires at the version it requires."""
    try:
        checks = [Check(f"package {DISTRIBUTION}", "OK", importlib.metadata.version(DISTRIBUTION))]
    except importlib.metadata.PackageNotFoundError:
        checks = [
            Check(
                f"package {DISTRIBUTION}",
                "WARN",
                "running from source, not installed",
                "pip install -e . (or use uvx phaseo-mcp) so the phaseo-mcp command exists",
            )
        ]
    for requirement in _requirements():
        name = f"package {requirement.name}"
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            fix = f"pip install '{DISTRIBUTION}' (pulls {requirement.name})"
            checks.append(Check(name, "FAIL", "not installed", fix))
            continue
        if requirement.specifier.contains(version, prereleases=True):
            checks.append(Check(name, "OK", version))
        else:
            fix = f"pip install -U '{requirement.name}'"
            checks.append(Check(name, "FAIL", f"{version} (needs {requirement.specifier})", fix))
    return checks


def check_templates(settings: Settings, environ: Mapping[str, str]) -> list[Check]:
    """No PHASEO_* variable and no setting holds a placeholder the client failed to fill in."""
    problems: list[Check] = []
    seen: set[str] = set()
    for name in sorted(environ):
        if not name.startswith("PHASEO_"):
            continue
        raw = environ[name]
        if left_blank_in_host(name, raw):
            continue  # a blank limit, read as none (the ceiling and budget rows say so)
        problems.extend(template_problems(name, raw, secret=is_secret_name(name)))
        seen.update({raw, raw.strip(), str(Path(raw.strip()).expanduser())})
    # Flags (--output-dir '${user_config.output_dir}') reach Settings without passing os.environ.
    values: dict[str, str | None] = {
        "--base-url / PHASEO_BASE_URL": settings.base_url,
        "--output-dir / PHASEO_OUTPUT_DIR": str(settings.output_dir),
        "--state-dir / PHASEO_STATE_DIR": str(settings.state_dir),
        "--journal-url / PHASEO_JOURNAL_URL": settings.journal_url,
        "--api-key-file / PHASEO_API_KEY": settings.api_key_value(),
    }
    for label, value in values.items():
        if value is None or value in seen:
            continue
        problems.extend(template_problems(label, value, secret=is_secret_name(label)))
    if problems:
        return problems
    return [Check("templates", "OK", "no unsubstituted ${...}, %VAR% or {{...}} in PHASEO_*")]


def is_secret_name(name: str) -> bool:
    """A variable whose value is never shown (keys, secrets, tokens)."""
    return any(word in name.upper() for word in ("KEY", "SECRET", "TOKEN"))


def template_problems(name: str, value: str, *, secret: bool) -> list[Check]:
    shown = "(value hidden)" if secret else repr(value)
    kind = find_template(value)
    if kind:
        return [
            Check(
                "templates",
                "FAIL",
                f"{name} is an unsubstituted {kind} template: {shown}",
                f"the client passed the placeholder through; put the real value in {name} "
                "(or remove it to use the default)",
            )
        ]
    if SHELL_VARIABLE.search(value):
        return [
            Check(
                "templates",
                "WARN",
                f"{name} contains a shell variable that is not expanded here: {shown}",
                "MCP clients do not run a shell; write the value out in full",
            )
        ]
    return []


def check_key(settings: Settings) -> Check:
    """Shape of the key, without contacting the gateway (that is :func:`check_gateway`)."""
    key = settings.api_key_value()
    if not key:
        return Check("api key", "FAIL", "PHASEO_API_KEY is not set", KEY_HELP)
    shown = masked_key(key)
    if find_template(key):
        return Check(
            "api key",
            "FAIL",
            f"PHASEO_API_KEY is an unsubstituted template {shown}",
            "the client did not fill in the key. " + KEY_HELP,
        )
    if key[:1] in "\"'" or key[-1:] in "\"'" or any(ch.isspace() for ch in key):
        return Check(
            "api key",
            "FAIL",
            f"PHASEO_API_KEY has quotes or spaces in it {shown}",
            "paste the key alone, without quotes, spaces or 'Bearer '",
        )
    if PLACEHOLDER_WORDS.search(key):
        return Check("api key", "FAIL", f"PHASEO_API_KEY is still a placeholder {shown}", KEY_HELP)
    if key.startswith(CURRENT_KEY_PREFIX) and KEY_SHAPE.match(key):
        return Check("api key", "OK", f"set {shown}")
    if key.startswith(LEGACY_KEY_PREFIX) and KEY_SHAPE.match(key):
        return Check(
            "api key",
            "WARN",
            f"legacy aistats_v1_ key {shown}; accepted until {LEGACY_KEY_SUNSET}",
            f"create a new phaseo_v1_sk_ key in the Phaseo dashboard before {LEGACY_KEY_SUNSET}",
        )
    if "_mk_" in key:
        return Check(
            "api key",
            "FAIL",
            f"this is a management key {shown}; video calls need a secret (sk) key",
            KEY_HELP,
        )
    if JWT_SHAPE.match(key):
        return Check("api key", "OK", f"OAuth bearer token {shown}")
    return Check(
        "api key",
        "WARN",
        f"unrecognised key shape {shown}; expected phaseo_v1_sk_<kid>_<secret>",
        "check you copied the whole secret key. " + KEY_HELP,
    )


def check_directory(label: str, variable: str, path: Path) -> Check:
    """Absolute, a directory (or creatable), and writable: a probe file is created and removed."""
    name = f"{label} dir"
    if find_template(str(path)):
        return Check(name, "FAIL", f"{path} is an unsubstituted template", f"set {variable}")
    if not path.is_absolute():
        return Check(
            name,
            "FAIL",
            f"{path} is relative: it would depend on the client's working directory "
            f"(from here it would mean {Path.cwd() / path})",
            f"set {variable} to an absolute path",
        )
    created: list[Path] = []
    try:
        missing = path
        while not missing.exists():
            created.append(missing)
            missing = missing.parent
        if not missing.is_dir():
            return Check(
                name,
                "FAIL",
                f"{path}: {missing} is not a directory",
                f"set {variable} to a folder you can write to",
            )
        for folder in reversed(created):
            folder.mkdir()
        handle, probe = tempfile.mkstemp(prefix=".phaseo-doctor-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return Check(
            name,
            "FAIL",
            f"{path} is not writable: {reason}",
            f"set {variable} to a folder you can write to, or fix its permissions",
        )
    finally:
        for folder in created:  # leave the disk as it was: only what we created, deepest first
            try:
                folder.rmdir()
            except OSError:
                break
    if created:
        return Check(name, "OK", f"{path} (will be created; writable)")
    return Check(name, "OK", f"{path} (writable)")


def check_http_limits(environ: Mapping[str, str]) -> Check:
    """The per-caller limits an HTTP server would apply (``serve --transport http``)."""
    try:
        limits = HttpLimits.from_env(environ)
    except ValueError as exc:
        return Check("http limits", "FAIL", str(exc), "use e.g. 10GiB, 20 and 600, or unset it")
    quota = limits.server_files_quota
    shown = f"{quota / 1024**3:g} GiB" if quota else "unlimited"
    return Check(
        "http limits",
        "OK",
        f"--server-files quota {shown} per owner; {limits.max_sessions_per_caller} sessions "
        "per key, token or signed-in person; idle sessions close after "
        f"{limits.session_idle_timeout:g} s",
    )
