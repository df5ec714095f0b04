"""``owner_of(ctx)``: the one place that says whose a call is, and with which gateway key.

stdio, or HTTP without ``--multi-user``: the operator's key, owner ``local``. Under
``--multi-user``: the caller's ``X-Phaseo-Api-Key``, owner ``key-<fingerprint>``. Under
``--auth oauth``: the operator's key, owner ``oauth-<hash of issuer and subject>`` of the
verified access token.
"""

from __future__ import annotations

from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context

from phaseo_mcp.config import Settings
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.gateway.errors import KEY_HELP
from phaseo_mcp.jobs.owner import Owner, key_owner, local_owner, oauth_owner

API_KEY_HEADER = "x-phaseo-api-key"
MULTI_USER_KEY_HELP = (
    "This server runs in multi-user mode: send your own Phaseo API key in the "
    "X-Phaseo-Api-Key header of each request (the operator's key is never used)."
)


def caller_key(ctx: Context, settings: Settings) -> str:
    """The gateway key this call uses; a ConfigError that says what to send when none."""
    if settings.multi_user:
        headers = ctx.headers or {}
        key = next((v for k, v in headers.items() if k.lower() == API_KEY_HEADER), "").strip()
        if not key:
            raise ConfigError(MULTI_USER_KEY_HELP)
        return key
    key = settings.api_key_value() or ""
    if not key:
        raise ConfigError(f"No Phaseo API key is configured. {KEY_HELP}")
    return key


def owner_for(settings: Settings, key: str) -> Owner:
    if settings.auth == "oauth":
        return _oauth_owner(key)
    return key_owner(key) if settings.multi_user else local_owner(key)


def signed_in_owner(token: AccessToken | None, key: str | None) -> Owner | None:
    """The person a verified OAuth access token belongs to (a hash of its issuer and
    subject, the same for every token they get); None without both."""
    issuer = (token.claims or {}).get("iss") if token is not None else None
    if token is None or not token.subject or not isinstance(issuer, str):
        return None
    return oauth_owner(issuer, token.subject, key)


def _oauth_owner(key: str) -> Owner:
    from mcp.server.auth.middleware.auth_context import get_access_token

    owner = signed_in_owner(get_access_token(), key)
    if owner is None:
        # The SDK's middleware refuses such requests first; never fall back to a shared owner.
        raise ConfigError("This server needs an OAuth access token: sign in again.")
    return owner


def owner_of(ctx: Context, settings: Settings) -> Owner:
    """The caller's owner."""
    return owner_for(settings, caller_key(ctx, settings))
