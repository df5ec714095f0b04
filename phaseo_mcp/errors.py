"""The exception tree. Every error carries a message that says what to do next.

    PhaseoError
    ├── ConfigError        the server is not set up (no key, unusable directory…)
    ├── InputError         the caller's arguments are wrong; nothing was sent upstream
    ├── GatewayError       the gateway answered with an error status (a refusal)
    ├── TransportError     no usable answer (connection refused, timeout, dropped)
    │   └── OutcomeUnknown a create may have reached the gateway but no answer came
    └── IntegrityError     a download did not match its announced size or sha256

Errors are raised where they are found and become tool results in one place
(``server/results.py``). httpx exceptions never leave ``gateway/client.py``; an ``OSError``
becomes a ``PhaseoError`` through ``os_errors.py``.
"""

from __future__ import annotations

from typing import Any, Literal

FailureKind = Literal[
    "content_refused",
    "provider_error",
    "insufficient_funds",
    "expired",
    "cancelled",
    "invalid_input",
    "auth",
    "not_found",
    "not_ready",
    "rate_limited",
    "unavailable",
    "outcome_unknown",
    "duplicate",
    "over_budget",
    "over_quota",
    "integrity",
    "config",
    # the local filesystem (phaseo_mcp/os_errors.py maps errno values to these)
    "file_exists",
    "disk_full",
    "name_too_long",
    "not_writable",
    "too_many_open_files",
    "filesystem_error",
    "other",
]


class PhaseoError(Exception):
    """Base class. ``message`` is safe to show to the model (no secrets, no stack traces)."""

    failure_kind: FailureKind = "other"

    def __init__(
        self,
        message: str,
        *,
        failure_kind: FailureKind | None = None,
        next_call: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if failure_kind is not None:
            self.failure_kind = failure_kind
        self.next_call = next_call


class ConfigError(PhaseoError):
    failure_kind: FailureKind = "config"


class InputError(PhaseoError):
    failure_kind: FailureKind = "invalid_input"


class GatewayError(PhaseoError):
    """The gateway answered with an HTTP error (``gateway/errors.py`` words it)."""


class TransportError(PhaseoError):
    failure_kind: FailureKind = "unavailable"


class OutcomeUnknown(TransportError):
    failure_kind: FailureKind = "outcome_unknown"


class IntegrityError(PhaseoError):
    failure_kind: FailureKind = "integrity"
