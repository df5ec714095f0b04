"""``--auth oauth`` over HTTP: what the server refuses to start with, and the SDK's
resource-server settings (protected-resource metadata naming the team's issuer, the
required scopes, tokens bound to this server's resource URL)."""

from __future__ import annotations

from mcp.server.auth.settings import AuthSettings

from phaseo_mcp.config import Settings
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.logs import register_secret
from phaseo_mcp.oauth_config import ISSUER_ENV
from phaseo_mcp.server.oauth_verifier import OAuthTokenVerifier


def oauth_refusals(settings: Settings, *, multi_user: bool, tokens: bool) -> list[str]:
    """Why ``--auth oauth`` cannot start with these settings (empty: it can)."""
    problems = []
    if multi_user:
        problems.append(
            "--auth oauth and --multi-user cannot be combined: with OAuth the server uses its "
            "one PHASEO_API_KEY and tells people apart by their sign-in; drop --multi-user"
        )
    if tokens:
        problems.append(
            "--auth oauth and PHASEO_MCP_AUTH_TOKENS cannot be combined: unset "
            "PHASEO_MCP_AUTH_TOKENS (static tokens are the other authentication mode)"
        )
    if settings.public_url is None:
        problems.append(
            "--auth oauth needs PHASEO_PUBLIC_URL (or --public-url): the https:// URL clients "
            "reach this server at; tokens must be issued for it plus the MCP path"
        )
    if settings.oauth is None:
        problems.append(f"--auth oauth needs {ISSUER_ENV}")
    if not settings.api_key_value():
        problems.append(
            "--auth oauth needs PHASEO_API_KEY: the team's gateway key every signed-in "
            "person's calls use"
        )
    return problems


def resource_url(settings: Settings, path: str) -> str:
    assert settings.public_url is not None
    return settings.public_url + path


def oauth_auth(
    settings: Settings, path: str, multi_user: bool, tokens: bool
) -> tuple[OAuthTokenVerifier, AuthSettings] | None:
    """With ``--auth oauth``: the verifier and the SDK's settings, or a ConfigError listing
    every refusal. None in any other mode."""
    if settings.auth != "oauth":
        return None
    if problems := oauth_refusals(settings, multi_user=multi_user, tokens=tokens):
        raise ConfigError("Refusing to start: " + "; ".join(problems) + ".")
    assert settings.oauth is not None
    if secret := settings.oauth.client_secret_value():
        register_secret(secret)
    resource = resource_url(settings, path)
    verifier = OAuthTokenVerifier(settings.oauth, resource)
    auth = AuthSettings(
        issuer_url=settings.oauth.issuer,  # pydantic parses the URLs
        resource_server_url=resource,
        required_scopes=list(settings.oauth.scopes),
        validate_token_resource=True,
    )
    return verifier, auth
