"""The Python SDK's OAuth client (``mcp.client.auth.OAuthClientProvider``) signs in against a
real OpenID provider and uses phaseo-mcp in ``--auth oauth`` mode, as a host would."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauthkit import Idp, MemoryStorage, python_oauth, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from helpers import data

pytestmark = pytest.mark.anyio


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
