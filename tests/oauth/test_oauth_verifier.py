"""The token verifier's key handling against a small issuer of our own on loopback (its
metadata and JWKS served over real HTTP, each JWKS fetch counted): unknown key ids refresh
the key set at most once per 10 s, and cached keys keep serving while the issuer is down."""

from __future__ import annotations

from typing import Any

import pytest
from httpkit import bound_socket, serve_app
from oauthkit import Idp, new_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from phaseo_mcp.oauth_config import OAuthConfig
from phaseo_mcp.server.oauth_verifier import OAuthTokenVerifier

pytestmark = pytest.mark.anyio
RESOURCE = "https://mcp.example.test/mcp"


def public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k in ("kty", "n", "e", "kid", "alg", "use")}


class Issuer:
    """A minimal issuer: metadata and a JWKS whose fetches are counted."""

    def __init__(self, issuer: str) -> None:
        self.key, jwk = new_key("k1")
        self.keys = [public(jwk)]
        self.fetches = 0
        self.minter = Idp(issuer, self.key, "k1", proc=None)  # type: ignore[arg-type]

        async def metadata(_: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": issuer,
                    "jwks_uri": f"{issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
                }
            )

        async def jwks(_: Request) -> Response:
            self.fetches += 1
            return JSONResponse({"keys": list(self.keys)})

        self.app = Starlette(
            routes=[Route("/.well-known/openid-configuration", metadata), Route("/jwks", jwks)]
        )

    def rotate(self) -> str:
        """Publish a second key; a token signed by it."""
        later, jwk = new_key("k2")
        self.keys.append(public(jwk))
        return self.minter.mint(aud=RESOURCE, key=later, kid="k2")


async def test_unknown_keys_refresh_at_most_once_per_10_s_and_cached_keys_outlive_the_issuer() -> (
    None
):
    """One fetch serves valid tokens; five unknown key ids and a key published meanwhile
    cause no fetch within 10 s of the last one (refused); with the issuer stopped, a token
    signed by a cached key is still accepted."""
    sock = bound_socket()
    issuer = Issuer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    verifier = OAuthTokenVerifier(OAuthConfig(issuer=issuer.minter.issuer), RESOURCE)
    stranger, _ = new_key("x")
    try:
        async with serve_app(issuer.app, sock):
            first = await verifier.verify_token(issuer.minter.mint(aud=RESOURCE, sub="ann"))
            for n in range(5):
                token = issuer.minter.mint(aud=RESOURCE, key=stranger, kid=f"unknown-{n}")
                assert await verifier.verify_token(token) is None
            too_soon = await verifier.verify_token(issuer.rotate())
            fetched = issuer.fetches
    finally:
        sock.close()
    cached = await verifier.verify_token(issuer.minter.mint(aud=RESOURCE, sub="ann"))
    assert first is not None and first.subject == "ann" and first.resource == RESOURCE
    assert fetched == 1, "the key set was fetched again within 10 s"
    assert too_soon is None
    assert cached is not None and cached.subject == "ann"


async def test_an_unknown_key_id_refreshes_the_key_set() -> None:
    """With the refresh interval passed (0 here), a key the issuer published after the
    first fetch is found by one refresh and its token accepted; a key id that is still
    unknown after it is refused."""
    sock = bound_socket()
    issuer = Issuer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    verifier = OAuthTokenVerifier(
        OAuthConfig(issuer=issuer.minter.issuer), RESOURCE, refresh_seconds=0
    )
    stranger, _ = new_key("x")
    try:
        async with serve_app(issuer.app, sock):
            assert await verifier.verify_token(issuer.minter.mint(aud=RESOURCE)) is not None
            rotated = await verifier.verify_token(issuer.rotate())
            after_rotation = issuer.fetches
            unknown = await verifier.verify_token(
                issuer.minter.mint(aud=RESOURCE, key=stranger, kid="never")
            )
    finally:
        sock.close()
    assert rotated is not None and after_rotation == 2
    assert unknown is None


async def test_the_last_key_set_serves_when_the_issuer_is_down_after_the_cache_expired() -> None:
    """The key-set cache has expired (a lifespan of a microsecond here) and the issuer is
    gone: the next token is still checked against the last key set fetched, so a valid one
    is accepted and a forged one refused."""
    sock = bound_socket()
    issuer = Issuer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    verifier = OAuthTokenVerifier(
        OAuthConfig(issuer=issuer.minter.issuer), RESOURCE, cache_seconds=1e-6
    )
    stranger, _ = new_key("x")
    try:
        async with serve_app(issuer.app, sock):
            assert await verifier.verify_token(issuer.minter.mint(aud=RESOURCE)) is not None
    finally:
        sock.close()
    fetched = issuer.fetches
    later = await verifier.verify_token(issuer.minter.mint(aud=RESOURCE, sub="ben"))
    forged = await verifier.verify_token(issuer.minter.mint(aud=RESOURCE, key=stranger))
    assert fetched == 1
    assert later is not None and later.subject == "ben"
    assert forged is None
