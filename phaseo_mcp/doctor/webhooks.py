"""The doctor's webhook row: are signed job events on, and where would the gateway send them."""

from __future__ import annotations

from phaseo_mcp.config import MAX_WEBHOOK_POLL_SECONDS, Settings
from phaseo_mcp.doctor.table import Check

MIN_SECRET_CHARS = 16


def check_webhooks(settings: Settings) -> Check:
    """Webhooks (HTTP transport only): which settings are missing, never the secret itself."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    target = settings.webhook_endpoint_id or settings.public_url
    if not secret and not target:
        return Check(
            "webhooks",
            "OK",
            "off: waits poll (HTTP deployments can set PHASEO_PUBLIC_URL and "
            "PHASEO_WEBHOOK_SECRET to hear completions at once)",
        )
    if not secret:
        return Check(
            "webhooks",
            "WARN",
            "PHASEO_PUBLIC_URL or PHASEO_WEBHOOK_ENDPOINT_ID is set without "
            "PHASEO_WEBHOOK_SECRET: webhooks stay off",
            "set PHASEO_WEBHOOK_SECRET to a long random value (the R6 endpoint's secret)",
        )
    if not target:
        return Check(
            "webhooks",
            "WARN",
            "PHASEO_WEBHOOK_SECRET is set, but not where the gateway should send: webhooks "
            "stay off",
            "set PHASEO_PUBLIC_URL (R2-R5 gateways) or PHASEO_WEBHOOK_ENDPOINT_ID (R6)",
        )
    where = (
        f"the R6 endpoint {settings.webhook_endpoint_id} (its URL set in the dashboard)"
        if settings.webhook_endpoint_id
        else settings.webhook_url
    )
    detail = (
        f"on over HTTP: creates with the operator's key ask for events at {where}; waits "
        f"still poll, {settings.webhook_poll_factor:g}x slower (at most "
        f"{MAX_WEBHOOK_POLL_SECONDS:g} s); stdio ignores webhooks"
    )
    if len(secret) < MIN_SECRET_CHARS:
        return Check(
            "webhooks",
            "WARN",
            detail + f"; the secret is shorter than {MIN_SECRET_CHARS} characters",
            "use a long random PHASEO_WEBHOOK_SECRET (e.g. openssl rand -hex 32)",
        )
    return Check("webhooks", "OK", detail)
