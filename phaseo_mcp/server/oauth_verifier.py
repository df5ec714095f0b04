"""The SDK's ``TokenVerifier`` for ``--auth oauth``: access tokens from the team's provider.

JWTs are checked against the issuer's JWKS (PyJWT's ``PyJWKClient``; cached, refreshed on an
unknown key id at most once every 10 s, and the last good set kept when the provider is
down): only the asymmetric algorithms the issuer's metadata lists, ``iss``, ``exp``
required, ``nbf``, 60 s leeway, ``aud`` this server's resource URL (RFC 8707), ``sub``
required. Opaque tokens go to the RFC 7662 introspection endpoint when one is configured.
Any refusal is ``None`` (the SDK answers 401); why is logged, never the token.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError
from mcp.server.auth.provider import AccessToken

from phaseo_mcp.oauth_config import OAuthConfig

log = logging.getLogger(__name__)
LEEWAY_SECONDS = 60
JWKS_REFRESH_SECONDS = 10.0
JWKS_CACHE_SECONDS = 300.0
DISCOVERY_RETRY_SECONDS = 10.0
HTTP_TIMEOUT_SECONDS = 10.0
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# RFC 9068 makes RS256 mandatory for JWT access tokens: the default when metadata lists none.
DEFAULT_ALGORITHMS = ("RS256",)
ALG_FIELDS = (
    "access_token_signing_alg_values_supported",
    "id_token_signing_alg_values_supported",
)


class ProviderError(Exception):
    """The provider's metadata could not be fetched or is not valid (said for people)."""


def metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 (path inserted after the host), then OpenID Connect discovery."""
    parts = urlsplit(issuer)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [
        f"{base}/.well-known/oauth-authorization-server{path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


async def discover(issuer: str, http: httpx.AsyncClient) -> dict[str, Any]:
    """The issuer's metadata, checked: its ``issuer`` is exactly ours and it names a JWKS or
    an introspection endpoint. ProviderError saying what is wrong."""
    problems = []
    for url in metadata_urls(issuer):
        try:
            response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            problems.append(f"{url}: {type(exc).__name__}")
            continue
        if response.status_code != 200:
            problems.append(f"{url}: HTTP {response.status_code}")
            continue
        try:
            data = response.json()
        except ValueError:
            problems.append(f"{url}: not JSON")
            continue
        if not isinstance(data, dict) or data.get("issuer") != issuer:
            got = data.get("issuer") if isinstance(data, dict) else None
            raise ProviderError(
                f"{url} names issuer {got!r}, not {issuer!r}: set PHASEO_OAUTH_ISSUER to the "
                "exact issuer the provider publishes"
            )
        for field in ("jwks_uri", "introspection_endpoint", "authorization_endpoint"):
            value = data.get(field)
            if value is not None and not isinstance(value, str):
                raise ProviderError(f"{url}: {field} is not a URL")
        if not data.get("jwks_uri") and not data.get("introspection_endpoint"):
            raise ProviderError(f"{url} lists neither jwks_uri nor introspection_endpoint")
        return data
    raise ProviderError("no metadata at " + "; ".join(problems))


def signing_algorithms(metadata: dict[str, Any]) -> list[str]:
    """The asymmetric algorithms the metadata lists (never ``none`` or HMAC)."""
    listed: set[str] = set()
    for field in ALG_FIELDS:
        values = metadata.get(field)
        if isinstance(values, list):
            listed.update(v for v in values if isinstance(v, str))
    chosen = sorted(listed & ASYMMETRIC)
    return chosen or ([] if listed else list(DEFAULT_ALGORITHMS))


class _LastGoodJWKClient(PyJWKClient):
    """A key-set cache that keeps serving the last good set while the provider is down."""

    _last_good: Any = None

    def fetch_data(self) -> Any:
        try:
            data = super().fetch_data()
        except PyJWKClientConnectionError:
            if self._last_good is None:
                raise
            log.warning("the identity provider's JWKS is unreachable: using the cached keys")
            return self._last_good
        self._last_good = data
        return data


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """``scope`` (space-separated) or ``scp`` (a list, or a string)."""
    raw = claims.get("scope", claims.get("scp"))
    if isinstance(raw, str):
        return raw.split()
    if isinstance(raw, list):
        return [s for s in raw if isinstance(s, str)]
    return []


def audience_matches(aud: Any, resource: str) -> bool:
    wanted = resource.rstrip("/")
    values = aud if isinstance(aud, list) else [aud]
    return any(isinstance(v, str) and v.rstrip("/") == wanted for v in values)


class OAuthTokenVerifier:
    """Satisfies the SDK's ``TokenVerifier`` protocol for one issuer and one resource URL."""

    def __init__(
        self,
        config: OAuthConfig,
        resource_url: str,
        *,
        refresh_seconds: float = JWKS_REFRESH_SECONDS,
        cache_seconds: float = JWKS_CACHE_SECONDS,
    ) -> None:
        self.config = config
        self.refresh_seconds = refresh_seconds  # least time between two JWKS fetches
        self.cache_seconds = cache_seconds  # how long a fetched key set is used unchecked
        self.resource_url = resource_url
        self._metadata: dict[str, Any] | None = None
        self._failed_at = -DISCOVERY_RETRY_SECONDS
        self._jwks: PyJWKClient | None = None
        self._algorithms: list[str] = []
        self._http: httpx.AsyncClient | None = None
        self._lock = anyio.Lock()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)
        return self._http

    async def metadata(self) -> dict[str, Any] | None:
        """The issuer's metadata, fetched once (tried again at most every 10 s on failure)."""
        if self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is not None:
                return self._metadata
            if time.monotonic() - self._failed_at < DISCOVERY_RETRY_SECONDS:
                return None
            try:
                data = await discover(self.config.issuer, self._client())
            except ProviderError as exc:
                self._failed_at = time.monotonic()
                log.warning("OAuth: the issuer's metadata is unavailable: %s", exc)
                return None
            if jwks_uri := data.get("jwks_uri"):
                self._jwks = _LastGoodJWKClient(
                    jwks_uri,
                    lifespan=self.cache_seconds,
                    timeout=HTTP_TIMEOUT_SECONDS,
                    cooldown_duration=self.refresh_seconds,
                )
            self._algorithms = signing_algorithms(data)
            self._metadata = data
            return data

    async def verify_token(self, token: str) -> AccessToken | None:
        if await self.metadata() is None:
            return None
        try:
            if token.count(".") == 2:
                claims = await self._verify_jwt(token)
            elif self.config.introspection_url:
                claims = await self._introspect(token)
            else:
                raise jwt.InvalidTokenError("not a JWT, and no introspection endpoint is set")
        except (jwt.PyJWTError, ValueError) as exc:
            log.info("OAuth: refused a token: %s", exc)
            return None
        except httpx.HTTPError as exc:  # the introspection endpoint is unreachable
            log.warning("OAuth: could not introspect a token: %s", type(exc).__name__)
            return None
        return self._access_token(token, claims)

    async def _verify_jwt(self, token: str) -> dict[str, Any]:
        if self._jwks is None:
            raise jwt.InvalidTokenError("the issuer publishes no JWKS for JWT access tokens")
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {alg!r} is not one the issuer lists")
        jwks, kid = self._jwks, header.get("kid")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the token names no key id (kid)")
        key = await anyio.to_thread.run_sync(lambda: jwks.get_signing_key(kid))
        declared = getattr(key, "_jwk_data", {}).get("alg")
        if declared and declared != alg:
            raise jwt.InvalidAlgorithmError(f"the key is for {declared}, not {alg}")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=self.resource_url,
            issuer=self.config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims

    async def _introspect(self, token: str) -> dict[str, Any]:
        assert self.config.introspection_url is not None
        response = await self._client().post(
            self.config.introspection_url,
            data={"token": token, "token_type_hint": "access_token"},
            auth=(self.config.client_id or "", self.config.client_secret_value() or ""),
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise ValueError(f"the introspection endpoint answered HTTP {response.status_code}")
        claims = response.json()
        if not isinstance(claims, dict) or claims.get("active") is not True:
            raise ValueError("the token is not active")
        if claims.get("iss", self.config.issuer) != self.config.issuer:
            raise ValueError("the token is from another issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < time.time():
            raise ValueError("the token has no expiry, or has expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf - LEEWAY_SECONDS > time.time():
            raise ValueError("the token is not valid yet")
        if not audience_matches(claims.get("aud"), self.resource_url):
            raise ValueError("the token is for another audience")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ValueError("the token has no subject")
        claims.setdefault("iss", self.config.issuer)
        return claims

    def _access_token(self, token: str, claims: dict[str, Any]) -> AccessToken | None:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            log.info("OAuth: refused a token without a subject")
            return None
        client = claims.get("client_id") or claims.get("azp") or "oauth-client"
        exp = claims.get("exp")
        return AccessToken(
            token=token,
            client_id=str(client),
            scopes=scopes_of(claims),
            # the SDK re-checks expiry without leeway: give it ours
            expires_at=int(exp) + LEEWAY_SECONDS if isinstance(exp, int | float) else None,
            resource=self.resource_url,
            subject=subject,
            claims={"iss": self.config.issuer},
        )
