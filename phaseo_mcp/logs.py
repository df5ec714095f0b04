"""Logging to stderr only, with every known secret redacted from every record.

stdout is the MCP protocol on stdio, so nothing here ever writes to it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from contextvars import ContextVar

REDACTED = "[redacted]"
# Key shapes of the gateway and bearer headers are redacted even when not registered.
_PATTERNS = [
    re.compile(r"(?:aistats|phaseo)_v1_(?:sk|mk|k)_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"),
    re.compile(r"whsec_[A-Za-z0-9_\-]+"),
]
# A gateway key: prefix, key id, secret (phaseo_v1_sk_<kid>_<secret>).
KEY_SHAPE = re.compile(r"^(?P<prefix>[a-z]+_v1_(?:sk|mk|k)_)(?P<kid>[A-Za-z0-9]+)_(?P<secret>\S+)$")
MAX_REGISTERED = 256  # operator secrets only (callers' own are per call): a bound all the same
_secrets: dict[str, bool] = {}  # secret -> pinned (the operator's own key is never evicted)
_lock = threading.Lock()
# Values one caller supplied (its X-Phaseo-Api-Key, its webhook secret): redacted in what that
# call says and logs only. A context variable, so no caller can change another's messages.
_caller_secrets: ContextVar[tuple[str, ...]] = ContextVar("phaseo_caller_secrets", default=())


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


def register_caller_secret(value: str | None) -> None:
    """Redact ``value`` in the current call only (this task and what it starts).

    For what a caller sent: registering it process-wide would let any caller make the server
    rewrite other callers' messages by sending a 'secret' equal to a word in them."""
    if not value or len(value) < 4:
        return
    current = _caller_secrets.get()
    if value not in current:
        _caller_secrets.set((*current, value))


def redact(text: str) -> str:
    with _lock:
        secrets = sorted({*_secrets, *_caller_secrets.get()}, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: (m.group(1) if m.groups() else "") + REDACTED,
            text,
        )
    return text


def masked_key(key: str) -> str:
    """How a key is shown to its owner: prefix, two characters of its id and its length; never
    the secret. (A key's *fingerprint* is a hash: ``jobs/fingerprint.py``.)"""
    match = KEY_SHAPE.match(key)
    if match:
        return f"{match['prefix']}{match['kid'][:2]}…({len(key)} chars)"
    return f"…({len(key)} chars)"


_hidden_paths: dict[str, str] = {}  # absolute path -> what results say instead


def hide_path_in_results(path: str, name: str) -> None:
    """Results (not logs) name ``path`` as ``name``: an HTTP client has no business with
    this host's directories unless the operator serves files (--server-files)."""
    if len(path) > 1:
        with _lock:
            _hidden_paths[path] = name


def for_result(text: str) -> str:
    """``text`` as a result may show it: redacted, and with hidden paths replaced."""
    text = redact(text)
    with _lock:
        hidden = sorted(_hidden_paths.items(), key=lambda item: len(item[0]), reverse=True)
    for path, name in hidden:
        text = text.replace(path, name)
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
