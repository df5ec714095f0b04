"""Logging to stderr only, with every known secret redacted from every record.

stdout is the MCP protocol on stdio, so nothing here ever writes to it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

REDACTED = "[redacted]"
# Key shapes of the gateway and bearer headers are redacted even when not registered.
_PATTERNS = [
    re.compile(r"(?:aistats|phaseo)_v1_(?:sk|mk|k)_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"),
    re.compile(r"whsec_[A-Za-z0-9_\-]+"),
]
MAX_REGISTERED = 256  # per-request keys (multi-user mode) must not pile up forever
_secrets: dict[str, bool] = {}  # secret -> pinned (the operator's own key is never evicted)
_lock = threading.Lock()


def register_secret(value: str | None, *, pin: bool = False) -> None:
    """Make sure ``value`` never appears in a log line.

    Shapes of gateway keys are redacted by pattern anyway; this catches anything else.
    """
    if not value or len(value) < 4:
        return
    with _lock:
        _secrets[value] = pin or _secrets.pop(value, False)
        while len(_secrets) > MAX_REGISTERED:
            oldest = next((k for k, pinned in _secrets.items() if not pinned), None)
            if oldest is None:
                break
            del _secrets[oldest]


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: (m.group(1) if m.groups() else "") + REDACTED,
            text,
        )
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str) -> None:
    """Send all logging to stderr through the redacting formatter.

    Called before MCPServer is built (its constructor would otherwise install its own handler).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if level else "INFO")
    # httpx logs full URLs at INFO (signed download URLs carry tokens): keep it quiet.
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
