"""Providers that issue opaque access tokens: phaseo-mcp asks the provider's RFC 7662
introspection endpoint (as its own confidential client) who the token belongs to."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import httpx
import httpx2
import pytest
from httpkit import free_port
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauthkit import (
    RS_CLIENT,
    RS_SECRET,
    Idp,
    MemoryStorage,
    python_oauth,
    running_idp,
    serve_oauth,
)

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.oauth_config import OAuthConfig

from helpers import data, raw_initialize

pytestmark = pytest.mark.anyio


async def _initialize_with(url: str, token: str) -> httpx.Response:
    """A raw initialize POST carrying ``token`` as its bearer token."""
    async with httpx.AsyncClient(timeout=30) as raw:
        return await raw.post(
            url,
            json=raw_initialize(),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
            },
        )


@pytest.fixture(scope="module")
def opaque_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    with running_idp(tmp_path_factory.mktemp("idp"), token_format="opaque") as provider:
        yield provider


async def test_opaque_tokens_are_introspected(
    settings: Settings,
    emulator: EmulatorHandle,
    opaque_idp: Idp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Python SDK client signs in and gets an opaque token; phaseo-mcp introspects it
    and runs the tools as that person. A made-up opaque token gets 401. The introspection
    client's secret never reaches the log."""
    caplog.set_level(logging.DEBUG)
    storage = MemoryStorage()
    async with serve_oauth(settings, opaque_idp, introspect=True) as served:
        with anyio.fail_after(90):
            auth = python_oauth(served.url, "dana", storage)
            async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
                async with Client(streamable_http_client(served.url, http_client=http)) as c:
                    listed = await c.call_tool("list_videos", {})
            bogus = await _initialize_with(served.url, "made-up-opaque-token-0123456789")
    assert storage.tokens is not None and storage.tokens.access_token.count(".") != 2
    assert not listed.is_error and data(listed)["videos"] == []
    assert bogus.status_code == 401
    assert RS_SECRET not in caplog.text


async def test_an_unreachable_introspection_endpoint_refuses_with_401(
    settings: Settings, emulator: EmulatorHandle, opaque_idp: Idp
) -> None:
    """With the introspection endpoint down, an opaque token gets 401 (never a 500), and
    no tool runs."""
    dead = OAuthConfig(
        issuer=opaque_idp.issuer,
        introspection_url=f"http://127.0.0.1:{free_port()}/introspect",
        client_id=RS_CLIENT,
        client_secret=RS_SECRET,  # type: ignore[arg-type]
    )
    async with serve_oauth(settings, opaque_idp, oauth=dead) as served:
        answer = await _initialize_with(served.url, "some-opaque-token-0123456789")
    assert answer.status_code == 401
    assert sum(emulator.counters.values()) == 0
