"""The Python SDK's OAuth client (``mcp.client.auth.OAuthClientProvider``) signs in against a
real OpenID provider and uses phaseo-mcp in ``--auth oauth`` mode, as a host would."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from oauthkit import REDIRECT_URI, SCOPE, Idp, code_of, serve_oauth, sign_in

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import data

pytestmark = pytest.mark.anyio


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def python_oauth(url: str, login: str, storage: MemoryStorage) -> OAuthClientProvider:
    """The SDK's provider; its browser step is our HTTP sign-in at the provider's forms."""
    redirect: dict[str, str] = {}

    async def open_browser(authorization_url: str) -> None:
        redirect.update(code_of(await sign_in(authorization_url, login)))

    async def callback() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=redirect["code"], state=redirect.get("state"), iss=redirect.get("iss")
        )

    metadata = OAuthClientMetadata(
        client_name="phaseo-oauth-test",
        redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope=SCOPE,
    )
    return OAuthClientProvider(
        server_url=url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
    )


async def test_python_sdk_client_signs_in_and_calls_tools(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """From a bare 401: discovery, dynamic registration, PKCE authorization with the
    provider's login and consent, token for this resource, then tool calls that work."""
    storage = MemoryStorage()
    async with serve_oauth(settings, idp) as served:
        auth = python_oauth(served.url, "alice", storage)
        with anyio.fail_after(90):
            async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
                async with Client(streamable_http_client(served.url, http_client=http)) as client:
                    models = await client.call_tool("list_video_models", {})
                    listed = await client.call_tool("list_videos", {})
    assert not models.is_error and data(models)["models"], data(models)
    assert not listed.is_error and data(listed)["videos"] == []
    assert storage.tokens is not None and storage.client is not None
    claims: dict[str, Any] = __import__("jwt").decode(
        storage.tokens.access_token, options={"verify_signature": False}
    )
    assert claims["aud"] == served.url and claims["sub"] == "alice", claims
    assert claims["iss"] == idp.issuer
