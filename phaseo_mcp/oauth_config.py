"""OAuth resource-server settings (``--auth oauth``): the team's issuer, required scopes and,
for providers that issue opaque tokens, the RFC 7662 introspection endpoint and its client.

Only values and their checks live here; ``server/oauth_verifier.py`` uses them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from phaseo_mcp.config_values import env_text

AUTH_ENV = "PHASEO_AUTH"
ISSUER_ENV = "PHASEO_OAUTH_ISSUER"
SCOPES_ENV = "PHASEO_OAUTH_SCOPES"
INTROSPECTION_ENV = "PHASEO_OAUTH_INTROSPECTION_URL"
CLIENT_ID_ENV = "PHASEO_OAUTH_CLIENT_ID"
CLIENT_SECRET_ENV = "PHASEO_OAUTH_CLIENT_SECRET"  # noqa: S105 - a variable's name
AUTH_MODES = ("tokens", "oauth")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_secure_or_local(url: str) -> bool:
    """https://, or http:// on loopback (development)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


class OAuthConfig(BaseModel):
    """Where tokens come from and what they must carry."""

    model_config = ConfigDict(frozen=True)

    issuer: str
    scopes: tuple[str, ...] = ()
    introspection_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if not is_secure_or_local(value) or urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError(
                f"{ISSUER_ENV} must be the https:// issuer URL of your identity provider (http:// "
                f"only on localhost/127.0.0.1), with no query or fragment, not {value!r}"
            )
        return value

    @field_validator("introspection_url")
    @classmethod
    def _introspection(cls, value: str | None) -> str | None:
        if value is not None and not is_secure_or_local(value):
            raise ValueError(
                f"{INTROSPECTION_ENV} must be an https:// URL (http:// only on localhost), "
                f"not {value!r}"
            )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OAuthConfig:
        """From the ``PHASEO_OAUTH_*`` variables; ValueError naming what is missing."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            return env_text(env, name)

        issuer = text(ISSUER_ENV)
        if issuer is None:
            raise ValueError(
                f"--auth oauth needs {ISSUER_ENV}: the issuer URL of your team's identity "
                "provider (the 'issuer' of its /.well-known/openid-configuration)"
            )
        introspection = text(INTROSPECTION_ENV)
        client_id, secret = text(CLIENT_ID_ENV), text(CLIENT_SECRET_ENV)
        if introspection and not (client_id and secret):
            raise ValueError(
                f"{INTROSPECTION_ENV} needs {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}: the "
                "client this server authenticates as at the introspection endpoint"
            )
        return cls(
            issuer=issuer,
            scopes=tuple((text(SCOPES_ENV) or "").split()),
            introspection_url=introspection,
            client_id=client_id,
            client_secret=SecretStr(secret) if secret else None,
        )

    def client_secret_value(self) -> str | None:
        return self.client_secret.get_secret_value() if self.client_secret else None
