"""``phaseo-mcp doctor``: check the setup and say how to fix each problem.

Most failures users hit are wiring, not bugs: an environment that never reached the server, a
relative or unwritable output folder, a ``${...}`` template the client did not substitute, a key
for the wrong gateway. Each check here names the variable involved and prints a fix.

The doctor uses httpx directly (short timeouts, one request) rather than the gateway client, so
it keeps working when the rest of the package is broken, and it never prints the API key: only a
masked fingerprint (prefix, two characters, length).
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from phaseo_mcp.config import DEFAULT_BASE_URL, HttpLimits, Settings

Status = Literal["OK", "WARN", "FAIL"]

MIN_PYTHON = (3, 11)
# Distribution name -> minimum version (from pyproject.toml); None: just report it.
PACKAGES: dict[str, tuple[int, ...] | None] = {
    "phaseo-mcp": None,
    "mcp": (2, 3),
    "httpx": (0, 27),
    "pydantic": (2, 7),
}
PROBE_CONNECT_TIMEOUT_SECONDS = 5.0
PROBE_READ_TIMEOUT_SECONDS = 10.0
KEY_HELP = (
    "create an API key in your Phaseo dashboard (API keys page) and set PHASEO_API_KEY "
    "in the client's env block (or pass --api-key-file)"
)
CURRENT_KEY_PREFIX = "phaseo_v1_sk_"
LEGACY_KEY_PREFIX = "aistats_v1_sk_"
LEGACY_KEY_SUNSET = "2027-01-01"
OLD_HOSTS = {"api.ai-stats.phaseo.app"}

# Placeholders a client or marketplace left in place instead of a value.
TEMPLATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\$\{[^}]*\}?"), "${...}"),
    (re.compile(r"%[A-Za-z_][A-Za-z0-9_]*%"), "%VAR%"),
    (re.compile(r"\{\{.*?\}\}"), "{{...}}"),
)
# A bare ``$HOME`` in a JSON config is never expanded by the client; lower confidence, so WARN.
SHELL_VARIABLE = re.compile(r"\$[A-Z_][A-Z0-9_]*")
PLACEHOLDER_WORDS = re.compile(r"REPLACE|YOUR[_-]?KEY|<[^>]*>|CHANGEME", re.IGNORECASE)
KEY_SHAPE = re.compile(r"^(?P<prefix>[a-z]+_v1_(?:sk|mk|k)_)(?P<kid>[A-Za-z0-9]+)_(?P<secret>\S+)$")
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""


# --- helpers -------------------------------------------------------------------------------


def find_template(value: str) -> str | None:
    """The kind of unsubstituted template in ``value`` (``"${...}"`` …), or None."""
    for pattern, kind in TEMPLATE_PATTERNS:
        if pattern.search(value):
            return kind
    return None


def key_fingerprint(key: str) -> str:
    """A masked fingerprint that identifies a key without revealing it."""
    match = KEY_SHAPE.match(key)
    if match:
        return f"{match['prefix']}{match['kid'][:2]}…({len(key)} chars)"
    return f"…({len(key)} chars)"


def _parse_version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- checks --------------------------------------------------------------------------------


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


def check_packages() -> list[Check]:
    checks: list[Check] = []
    for dist, minimum in PACKAGES.items():
        name = f"package {dist}"
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            if dist == "phaseo-mcp":
                checks.append(
                    Check(
                        name,
                        "WARN",
                        "running from source, not installed",
                        "pip install -e . (or use uvx phaseo-mcp) so the phaseo-mcp command exists",
                    )
                )
            else:
                checks.append(
                    Check(name, "FAIL", "not installed", f"pip install 'phaseo-mcp' (pulls {dist})")
                )
            continue
        if minimum and _parse_version(version) < minimum:
            wanted = ".".join(str(part) for part in minimum)
            checks.append(
                Check(name, "FAIL", f"{version} (needs >= {wanted})", f"pip install -U '{dist}'")
            )
        else:
            checks.append(Check(name, "OK", version))
    return checks


def check_templates(settings: Settings, environ: Mapping[str, str]) -> list[Check]:
    """No PHASEO_* variable and no setting holds a placeholder the client failed to fill in."""
    problems: list[Check] = []
    seen: set[str] = set()
    for name in sorted(environ):
        if not name.startswith("PHASEO_"):
            continue
        raw = environ[name]
        problems.extend(_template_problems(name, raw, secret="KEY" in name))
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
        problems.extend(_template_problems(label, value, secret="KEY" in label))
    if problems:
        return problems
    return [Check("templates", "OK", "no unsubstituted ${...}, %VAR% or {{...}} in PHASEO_*")]


def _template_problems(name: str, value: str, *, secret: bool) -> list[Check]:
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
    fingerprint = key_fingerprint(key)
    if find_template(key):
        return Check(
            "api key",
            "FAIL",
            f"PHASEO_API_KEY is an unsubstituted template {fingerprint}",
            "the client did not fill in the key; " + KEY_HELP,
        )
    if key[:1] in "\"'" or key[-1:] in "\"'" or any(ch.isspace() for ch in key):
        return Check(
            "api key",
            "FAIL",
            f"PHASEO_API_KEY has quotes or spaces in it {fingerprint}",
            "paste the key alone, without quotes, spaces or 'Bearer '",
        )
    if PLACEHOLDER_WORDS.search(key):
        return Check(
            "api key", "FAIL", f"PHASEO_API_KEY is still a placeholder {fingerprint}", KEY_HELP
        )
    if key.startswith(CURRENT_KEY_PREFIX) and KEY_SHAPE.match(key):
        return Check("api key", "OK", f"set {fingerprint}")
    if key.startswith(LEGACY_KEY_PREFIX) and KEY_SHAPE.match(key):
        return Check(
            "api key",
            "WARN",
            f"legacy aistats_v1_ key {fingerprint}; accepted until {LEGACY_KEY_SUNSET}",
            f"create a new phaseo_v1_sk_ key in the Phaseo dashboard before {LEGACY_KEY_SUNSET}",
        )
    if "_mk_" in key:
        return Check(
            "api key",
            "FAIL",
            f"this is a management key {fingerprint}; video calls need a secret (sk) key",
            KEY_HELP,
        )
    if JWT_SHAPE.match(key):
        return Check("api key", "OK", f"OAuth bearer token {fingerprint}")
    return Check(
        "api key",
        "WARN",
        f"unrecognised key shape {fingerprint}; expected phaseo_v1_sk_<kid>_<secret>",
        "check you copied the whole secret key; " + KEY_HELP,
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
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return Check(
            "base url",
            "FAIL",
            f"{url} is plain http to a remote host: the key would travel unencrypted",
            f"use https (the default is {DEFAULT_BASE_URL})",
        )
    return None


def check_gateway(settings: Settings, key_check: Check) -> list[Check]:
    """One ``GET {base}/videos/models``: does the base URL answer, and is the key accepted?"""
    url_problem = check_base_url(settings)
    if url_problem:
        return [url_problem, _key_unverified(key_check, "the base URL is not usable")]
    base = settings.base_url.rstrip("/")
    target = f"{base}/videos/models"
    key = settings.api_key_value()
    send_key = bool(key) and key_check.status != "FAIL"
    headers = {"Accept": "application/json", "User-Agent": "phaseo-mcp-doctor"}
    if send_key and key:
        headers["Authorization"] = f"Bearer {key}"
    timeout = httpx.Timeout(PROBE_READ_TIMEOUT_SECONDS, connect=PROBE_CONNECT_TIMEOUT_SECONDS)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
            response = client.get(target, headers=headers)
    except httpx.TimeoutException:
        return [
            Check(
                "base url",
                "FAIL",
                f"{base} unreachable: no answer within {PROBE_READ_TIMEOUT_SECONDS:g} s",
                "check your network, proxy (HTTPS_PROXY) or PHASEO_BASE_URL",
            ),
            _key_unverified(key_check, "the gateway did not answer"),
        ]
    except httpx.HTTPError as exc:
        return [
            Check(
                "base url",
                "FAIL",
                f"{base} unreachable: {_describe_error(exc)}",
                f"check the host in PHASEO_BASE_URL (default {DEFAULT_BASE_URL}), "
                "your network and proxy",
            ),
            _key_unverified(key_check, "the gateway did not answer"),
        ]
    status = response.status_code
    host = urlsplit(base).hostname or ""
    base_check = Check("base url", "OK", f"{base} answers (GET /videos/models -> {status})")
    if host in OLD_HOSTS:
        base_check = Check(
            "base url",
            "WARN",
            f"{base} is the gateway's old host",
            f"use {DEFAULT_BASE_URL}",
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        return [
            Check(
                "base url",
                "FAIL",
                f"{target} redirects ({status}) to {location}",
                "set PHASEO_BASE_URL to the final URL (https, ending in /v1)",
            ),
            _key_unverified(key_check, "the base URL redirects"),
        ]
    if status == 404:
        return [
            Check(
                "base url",
                "FAIL",
                f"{target} -> 404: no video API at this base URL",
                f"PHASEO_BASE_URL must end with /v1, e.g. {DEFAULT_BASE_URL}",
            ),
            _key_unverified(key_check, "no video API at the base URL"),
        ]
    if not send_key:
        return [base_check, key_check]
    if status in (401, 403):
        return [
            base_check,
            Check(
                "api key",
                "FAIL",
                f"key rejected by {host} (HTTP {status}) {key_fingerprint(key or '')}",
                "the key is wrong, revoked or for another gateway; " + KEY_HELP,
            ),
        ]
    if status == 200:
        count = _count_models(response)
        detail = f"{key_check.detail}; accepted ({count} video models)"
        return [base_check, Check("api key", key_check.status, detail, key_check.fix)]
    if status == 501:
        return [
            Check(
                "base url",
                "WARN",
                f"{target} -> 501: the gateway has video routes switched off",
                "video generation is unavailable on this gateway right now; try again later",
            ),
            _key_unverified(key_check, "the video routes are disabled"),
        ]
    return [
        Check(
            "base url",
            "FAIL",
            f"{target} -> HTTP {status}",
            "the gateway is failing; retry later or check PHASEO_BASE_URL",
        ),
        _key_unverified(key_check, f"the gateway answered HTTP {status}"),
    ]


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
        f"per caller; idle sessions close after {limits.session_idle_timeout:g} s",
    )


def collect_checks(settings: Settings, environ: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in table order."""
    env = os.environ if environ is None else environ
    checks = [check_python(), *check_packages(), *check_templates(settings, env)]
    key_check = check_key(settings)
    checks.extend(check_gateway(settings, key_check))
    checks.append(check_directory("output", "PHASEO_OUTPUT_DIR", settings.output_dir))
    from phaseo_mcp.doctor_journal import check_cost_ceiling, check_journal

    if settings.journal_url:
        checks.append(Check("state dir", "OK", "journal in PHASEO_JOURNAL_URL (not checked)"))
    else:
        checks.append(check_directory("state", "PHASEO_STATE_DIR", settings.state_dir))
        if settings.state_dir.is_absolute() and not find_template(str(settings.state_dir)):
            checks.append(check_journal(settings))
    checks.append(check_cost_ceiling(settings))
    from phaseo_mcp.doctor_player import check_inline_player

    checks.append(check_inline_player(settings))
    checks.append(check_http_limits(env))
    return checks


# --- output --------------------------------------------------------------------------------


def render_table(checks: Sequence[Check]) -> str:
    header = Check("CHECK", "OK", "DETAIL", "FIX")
    rows = [(header.name, "STATUS", header.detail, header.fix)]
    rows += [(c.name, c.status, c.detail, c.fix) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summary(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("OK", "WARN", "FAIL")}
    verdict = "all checks passed" if not counts["FAIL"] else "setup has problems (see FIX)"
    return f"{counts['OK']} ok, {counts['WARN']} warning, {counts['FAIL']} failed: {verdict}"


def exit_status(checks: Sequence[Check]) -> int:
    return 1 if any(c.status == "FAIL" for c in checks) else 0


def _print_report(checks: Sequence[Check], out: TextIO) -> int:
    from phaseo_mcp import __version__

    print(f"phaseo-mcp doctor {__version__}", file=out)
    print(render_table(checks), file=out)
    print(summary(checks), file=out)
    out.flush()
    return exit_status(checks)


def run_doctor(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """Run every check, print the table; 0 when nothing failed (warnings allowed), else 1."""
    return _print_report(collect_checks(settings, environ), out or sys.stdout)


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
    """When the settings cannot even be built (``PHASEO_MAX_COST_USD=abc``), say which and why."""
    env = os.environ if environ is None else environ
    checks = [check_python(), *check_packages()]
    for name in sorted(env):
        if name.startswith("PHASEO_"):
            checks.extend(_template_problems(name, env[name], secret="KEY" in name))
    if isinstance(error, ValidationError):
        message = "; ".join(
            f"PHASEO_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors()
        )
    else:
        message = str(error).strip() or type(error).__name__
    key = env.get("PHASEO_API_KEY", "").strip()
    if key:
        message = message.replace(key, key_fingerprint(key))
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
    return _print_report(checks, out or sys.stdout)
