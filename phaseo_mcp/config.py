"""Settings from environment variables and CLI flags; defaults, limits and platform folders.

Every default and limit the server uses lives here as a ``DEFAULT_*`` / ``MAX_*`` constant.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from phaseo_mcp.config_confirm import confirmation_settings, parse_confirm_above
from phaseo_mcp.config_values import (
    check_dollars,
    check_public_url,
    env_text,
    parse_cost_ceiling,
    parse_megabytes,
    parse_origins,
)
from phaseo_mcp.oauth_config import AUTH_ENV, AUTH_MODES, OAuthConfig

DEFAULT_BASE_URL = "https://api.phaseo.app/v1"
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_WAIT_TIMEOUT_SECONDS = 50
MIN_WAIT_TIMEOUT_SECONDS = 1
MAX_WAIT_TIMEOUT_SECONDS = 600
DEFAULT_POLL_FLOOR_SECONDS = 1.0
DEFAULT_POLL_AFTER_SECONDS = 20.0
DEFAULT_HEARTBEAT_SECONDS = 10.0
DEFAULT_DUPLICATE_WINDOW_SECONDS = 600.0
DEFAULT_CATALOG_TTL_SECONDS = 600.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_READ_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_BACKOFF_BASE_SECONDS = 1.0
DEFAULT_BACKOFF_CAP_SECONDS = 8.0
MIN_URL_TTL_SECONDS = 60
MAX_URL_TTL_SECONDS = 3600
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
MAX_UPSTREAM_CONNECTIONS = 100
# httpcore checks every idle pooled connection on every request (a syscall each): a small
# idle pool keeps a poll cheap under many concurrent waits (bench/: ~28 % of server CPU).
MAX_IDLE_UPSTREAM_CONNECTIONS = 8
# `phaseo-mcp doctor`'s one request: short, so a silent gateway does not hang the doctor.
PROBE_CONNECT_TIMEOUT_SECONDS = 5.0
PROBE_READ_TIMEOUT_SECONDS = 10.0
# HTTP: bytes each owner may keep in its output folder with --server-files (0 = unlimited),
# open sessions per caller, and how long a session may sit idle (the SDK's default is 30 min).
DEFAULT_SERVER_FILES_QUOTA_BYTES = 10 * 1024**3
DEFAULT_MAX_SESSIONS_PER_CALLER = 20
DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS = 600.0
# Creates estimated at or above this ask the person first (elicitation); None = off.
DEFAULT_CONFIRM_ABOVE_USD: float | None = 0.50
# Webhooks (HTTP): while a job's completion will be pushed, waits still poll, this many times
# slower than the gateway asks, but never slower than MAX_WEBHOOK_POLL_SECONDS.
DEFAULT_WEBHOOK_POLL_FACTOR = 4.0
MAX_WEBHOOK_POLL_SECONDS = 30.0
WEBHOOK_PATH = "/webhooks/phaseo"
APP_NAME = "phaseo-mcp"
# The inline player (MCP Apps): the largest saved video it plays from base64 chunks.
DEFAULT_INLINE_VIDEO_MAX_MB = 100.0

DownloadMode = Literal["file", "url"]


class RetryPolicy(BaseModel):
    """One retry policy for every upstream call (see gateway/retry.py for what is retried)."""

    model_config = ConfigDict(frozen=True)

    max_retries: int = Field(DEFAULT_MAX_RETRIES, ge=0, le=20)
    backoff_base_seconds: float = Field(DEFAULT_BACKOFF_BASE_SECONDS, ge=0)
    backoff_cap_seconds: float = Field(DEFAULT_BACKOFF_CAP_SECONDS, ge=0)
    zero_waits: bool = False  # testing switch: retry at once, ignore Retry-After waits


# Placeholders a client or marketplace left in place instead of a value.
TEMPLATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\$\{[^}]*\}?"), "${...}"),
    (re.compile(r"%[A-Za-z_][A-Za-z0-9_]*%"), "%VAR%"),
    (re.compile(r"\{\{.*?\}\}"), "{{...}}"),
)


def find_template(value: str) -> str | None:
    """The kind of unsubstituted template in ``value`` (``"${...}"`` …), or None."""
    for pattern, kind in TEMPLATE_PATTERNS:
        if pattern.search(value):
            return kind
    return None


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (an IPv6 literal may keep its brackets)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_output_dir() -> Path:
    # Imported on use: ~20 ms (python -X importtime) that a server with both folders set skips.
    import platformdirs

    return Path(platformdirs.user_videos_dir()) / "phaseo"


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gib": 1024**3, "t": 1024**4, "tib": 1024**4}  # fmt: skip


def parse_bytes(raw: str) -> int:
    """``10GiB``, ``500M``, ``1048576`` → bytes; ValueError naming the accepted forms."""
    text = raw.strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or not value >= 0 or value == float("inf"):
        raise ValueError(f"{raw!r} is not a size: write bytes, or a number with K, M, G or T(iB)")
    return int(value * _UNITS[unit])


QUOTA_ENV = "PHASEO_SERVER_FILES_QUOTA"
SESSIONS_ENV = "PHASEO_MCP_MAX_SESSIONS_PER_CALLER"
IDLE_ENV = "PHASEO_MCP_SESSION_IDLE_TIMEOUT"


class HttpLimits(BaseModel):
    """What one caller may hold on an HTTP server: bytes of server files (0 = unlimited),
    open sessions, and how long a session may sit idle."""

    model_config = ConfigDict(frozen=True)

    server_files_quota: int = Field(DEFAULT_SERVER_FILES_QUOTA_BYTES, ge=0)
    max_sessions_per_caller: int = Field(DEFAULT_MAX_SESSIONS_PER_CALLER, ge=1)
    session_idle_timeout: float = Field(
        DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS, gt=0, allow_inf_nan=False
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **flags: object) -> HttpLimits:
        """From ``PHASEO_SERVER_FILES_QUOTA`` (``10GiB``, bytes…) and the session variables;
        flags win. ValueError naming the variable when one is not valid."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field, name, parse in (
            ("server_files_quota", QUOTA_ENV, parse_bytes),
            ("max_sessions_per_caller", SESSIONS_ENV, int),
            ("session_idle_timeout", IDLE_ENV, float),
        ):
            raw = flags.get(field)
            raw = raw if raw is not None else env_text(env, name)
            if raw is None:
                continue
            try:
                values[field] = parse(raw) if isinstance(raw, str) else raw
                cls.model_validate({field: values[field]})
            except ValueError as exc:
                raise ValueError(f"{name} (or its flag) is not valid: {raw!r}") from exc
        return cls.model_validate(values)


class Settings(BaseModel):
    """Everything the server is configured with. Build it with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    output_dir: Path = Field(default_factory=default_output_dir)
    state_dir: Path = Field(default_factory=default_state_dir)
    journal_url: str | None = None
    log_level: str = DEFAULT_LOG_LEVEL
    max_cost_usd: float | None = None
    # Price confirmation (config_confirm.py); http_stateless is set by server/http.py.
    confirm_above_usd: float | None = Field(DEFAULT_CONFIRM_ABOVE_USD, ge=0, allow_inf_nan=False)
    require_confirmation: bool = False
    state_keys: tuple[SecretStr, ...] = ()
    http_stateless: bool = False
    retry: RetryPolicy = RetryPolicy()
    # Testing switch: every wait and budget of the server runs this many times faster than
    # real time (the emulator has the same knob), so tests never sleep for real job time.
    time_scale: float = Field(1.0, gt=0)
    poll_floor_seconds: float = DEFAULT_POLL_FLOOR_SECONDS
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    duplicate_window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS
    catalog_ttl_seconds: float = DEFAULT_CATALOG_TTL_SECONDS
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS
    default_download_mode: DownloadMode = "file"
    multi_user: bool = False
    # Over HTTP: whether mode="file" is allowed at all (--server-files), and the per-owner
    # quota in bytes (0 = unlimited).
    server_files: bool = True
    server_files_quota_bytes: int = Field(0, ge=0)
    # The deployment's external base URL (https://…, or http://localhost / 127.0.0.1 for
    # development), no trailing slash: what the gateway and browsers reach this server at.
    public_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_endpoint_id: str | None = Field(None, min_length=1, max_length=128)
    webhook_poll_factor: float = Field(DEFAULT_WEBHOOK_POLL_FACTOR, ge=1, allow_inf_nan=False)
    # HTTP authentication: "tokens" (PHASEO_MCP_AUTH_TOKENS) or "oauth" (--auth oauth).
    auth: Literal["tokens", "oauth"] | None = None
    oauth: OAuthConfig | None = None
    # Each owner's total per UTC day (reserved at admission, settled when the job reports).
    daily_budget_usd: float | None = None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else check_public_url(value)

    @field_validator("daily_budget_usd")
    @classmethod
    def _finite_budget(cls, value: float | None) -> float | None:
        if value is None:
            return None
        return check_dollars(
            value,
            "PHASEO_DAILY_BUDGET_USD",
            rule="a finite number of US dollars, 0 or more",
            then="; unset it for no daily budget",
        )

    # Inline player: extra origins signed URLs may come from (a CDN), and the largest saved
    # video it plays from base64 (0 = never inline).
    media_origins: tuple[str, ...] = ()
    inline_video_max_mb: float = Field(DEFAULT_INLINE_VIDEO_MAX_MB, ge=0)

    @field_validator("max_cost_usd")
    @classmethod
    def _finite_ceiling(cls, value: float | None) -> float | None:
        if value is None:
            return None
        return check_dollars(value, "PHASEO_MAX_COST_USD", then="; unset it for no ceiling")

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``PHASEO_*`` variables; ``overrides`` (from CLI flags) win over them."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def text(name: str) -> str | None:
            return env_text(env, name)

        if key := text("PHASEO_API_KEY"):
            values["api_key"] = SecretStr(key)
        if url := text("PHASEO_BASE_URL"):
            values["base_url"] = url
        if out := text("PHASEO_OUTPUT_DIR"):
            values["output_dir"] = Path(out).expanduser()
        if state := text("PHASEO_STATE_DIR"):
            values["state_dir"] = Path(state).expanduser()
        if journal := text("PHASEO_JOURNAL_URL"):
            values["journal_url"] = journal
        if level := text("PHASEO_LOG_LEVEL"):
            values["log_level"] = level.upper()
        if cost := text("PHASEO_MAX_COST_USD"):
            values["max_cost_usd"] = parse_cost_ceiling(cost)
        values.update(confirmation_settings(text))
        if scale := text("PHASEO_TIME_SCALE"):
            values["time_scale"] = float(scale)
        if public := text("PHASEO_PUBLIC_URL"):
            values["public_url"] = public
        if secret := text("PHASEO_WEBHOOK_SECRET"):
            values["webhook_secret"] = SecretStr(secret)
        if endpoint := text("PHASEO_WEBHOOK_ENDPOINT_ID"):
            values["webhook_endpoint_id"] = endpoint
        if factor := text("PHASEO_WEBHOOK_POLL_FACTOR"):
            values["webhook_poll_factor"] = factor
        if budget := text("PHASEO_DAILY_BUDGET_USD"):
            values["daily_budget_usd"] = parse_cost_ceiling(budget, "PHASEO_DAILY_BUDGET_USD")
        if mode := text(AUTH_ENV):
            values["auth"] = mode.lower()
        if origins := text("PHASEO_MEDIA_ORIGINS"):
            try:
                values["media_origins"] = parse_origins(origins)
            except ValueError as exc:
                raise ValueError(f"PHASEO_MEDIA_ORIGINS: {exc}") from None
        if inline := text("PHASEO_INLINE_VIDEO_MAX_MB"):
            values["inline_video_max_mb"] = parse_megabytes("PHASEO_INLINE_VIDEO_MAX_MB", inline)
        if text("PHASEO_TESTING_ZERO_RETRY_WAITS"):
            values["retry"] = RetryPolicy(zero_waits=True)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("confirm_above_usd"), str):  # --confirm-above-usd off|0.5
            values["confirm_above_usd"] = parse_confirm_above(str(values["confirm_above_usd"]))
        if values.get("auth") not in (None, *AUTH_MODES):
            raise ValueError(f"{AUTH_ENV} (or --auth) must be one of {', '.join(AUTH_MODES)}")
        if values.get("auth") == "oauth" and values.get("oauth") is None:
            values["oauth"] = OAuthConfig.from_env(env)
        if isinstance(values.get("api_key"), str):
            values["api_key"] = SecretStr(str(values["api_key"])) if values["api_key"] else None
        return cls.model_validate(values)

    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def webhooks_configured(self) -> bool:
        """A secret, and somewhere for the gateway to send to: our public URL (R2–R5) or a
        registered endpoint (R6). Only the HTTP transport has a receiver to use it."""
        return self.webhook_secret is not None and bool(self.public_url or self.webhook_endpoint_id)

    @property
    def webhook_url(self) -> str | None:
        return f"{self.public_url}{WEBHOOK_PATH}" if self.public_url else None


DIRECTORY_SETTINGS = (
    ("output_dir", "PHASEO_OUTPUT_DIR", "--output-dir"),
    ("state_dir", "PHASEO_STATE_DIR", "--state-dir"),
)


def startup_problems(settings: Settings, cwd: Path | None = None) -> list[str]:
    """What the server refuses to start with, before any paid call: a relative folder (it
    would depend on the client's working directory, which nobody chose)."""
    here = Path.cwd() if cwd is None else cwd
    problems = []
    for attribute, variable, flag in DIRECTORY_SETTINGS:
        path: Path = getattr(settings, attribute)
        if not path.is_absolute():
            problems.append(
                f"{variable} (or {flag}) must be an absolute path, not {str(path)!r}: from this "
                f"working directory it would mean {here / path}, but a client may start the "
                "server anywhere. Set it to the absolute path you mean."
            )
    return problems
