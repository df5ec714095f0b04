"""``phaseo-mcp doctor`` rows for ``--auth oauth`` and the daily budget: is the issuer
reachable, is its metadata valid (exact issuer, a JWKS or introspection endpoint, asymmetric
signing algorithms, the required scopes listed), and is the public URL set."""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.table import Check
from phaseo_mcp.oauth_config import ISSUER_ENV, SCOPES_ENV, OAuthConfig
from phaseo_mcp.server.oauth_verifier import (
    HTTP_TIMEOUT_SECONDS,
    ProviderError,
    discover,
    signing_algorithms,
)


def check_oauth(settings: Settings) -> list[Check]:
    """The OAuth rows (none when another auth mode is set) and the daily budget row."""
    rows = [_budget(settings)]
    if settings.auth != "oauth" or settings.oauth is None:
        return rows
    if settings.public_url is None:
        rows.append(
            Check(
                "public URL",
                "FAIL",
                "--auth oauth needs the URL clients reach this server at",
                "set PHASEO_PUBLIC_URL (or --public-url), e.g. https://mcp.example.com",
            )
        )
    else:
        rows.append(Check("public URL", "OK", f"{settings.public_url} (resource: + MCP path)"))
    return rows + _issuer(settings.oauth)


def _budget(settings: Settings) -> Check:
    limit = settings.daily_budget_usd
    if limit is None:
        return Check("daily budget", "OK", "none: PHASEO_DAILY_BUDGET_USD is unset")
    return Check(
        "daily budget",
        "OK",
        f"${limit:.2f} per person per UTC day (PHASEO_DAILY_BUDGET_USD), counted in the journal",
    )


def _issuer(config: OAuthConfig) -> list[Check]:
    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            return await discover(config.issuer, http)

    try:
        metadata = anyio.run(fetch)
    except ProviderError as exc:
        return [
            Check(
                "OAuth issuer",
                "FAIL",
                f"{config.issuer}: {exc}",
                f"check {ISSUER_ENV} (the provider's exact issuer URL) and that this host "
                "can reach it",
            )
        ]
    rows = [Check("OAuth issuer", "OK", f"{config.issuer}: metadata valid")]
    algorithms = signing_algorithms(metadata)
    if metadata.get("jwks_uri") and not algorithms:
        rows.append(
            Check(
                "OAuth keys",
                "FAIL",
                "the issuer lists no asymmetric signing algorithm (only HMAC or none)",
                "configure the provider to sign access tokens with RS256 or ES256",
            )
        )
    elif metadata.get("jwks_uri"):
        rows.append(Check("OAuth keys", "OK", f"JWKS, algorithms {', '.join(algorithms)}"))
    if config.introspection_url is None and not metadata.get("jwks_uri"):
        rows.append(
            Check(
                "OAuth keys",
                "FAIL",
                "the issuer publishes no JWKS, and no introspection endpoint is set",
                "set PHASEO_OAUTH_INTROSPECTION_URL with PHASEO_OAUTH_CLIENT_ID/_SECRET",
            )
        )
    listed = metadata.get("scopes_supported")
    missing = [s for s in config.scopes if isinstance(listed, list) and s not in listed]
    if missing:
        rows.append(
            Check(
                "OAuth scopes",
                "WARN",
                f"{SCOPES_ENV} asks for {' '.join(missing)}, not in the issuer's scopes_supported",
                "define the scope at the provider, or change PHASEO_OAUTH_SCOPES",
            )
        )
    return rows
