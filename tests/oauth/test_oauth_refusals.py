"""Tokens phaseo-mcp must refuse in ``--auth oauth`` mode, each with 401 or 403 and no tool run;
the protected-resource metadata names the real issuer, and a valid token of the same shape is
accepted (so each refusal is about the one thing changed)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from httpkit import bound_socket, serve_app
from oauthkit import SCOPE, Idp, new_key, oauth_settings, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.server.http import HttpOptions, build_http_app

from helpers import raw_initialize

pytestmark = pytest.mark.anyio
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
CREATE = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "create_video", "arguments": {"model": "m", "prompt": "a fox"}},
}


def refusals(idp: Idp, resource: str) -> dict[str, tuple[str, int]]:
    """name -> (token, the status it must get)."""
    stranger, _ = new_key("stranger")
    now = int(time.time())
    return {
        "another audience": (idp.mint(aud="https://other.example/mcp"), 401),
        "expired": (idp.mint(aud=resource, exp=now - 3600, iat=now - 7200), 401),
        "unknown key": (idp.mint(aud=resource, key=stranger, kid="stranger"), 401),
        "key id of ours, other key": (idp.mint(aud=resource, key=stranger), 401),
        "alg none": (idp.mint(aud=resource, alg="none"), 401),
        "HS256 signed with the public key": (_hmac_token(idp, resource), 401),
        "another issuer": (idp.mint(aud=resource, iss="http://127.0.0.1:1"), 401),
        "no subject": (idp.mint(aud=resource, sub=None), 401),
        "no expiry": (idp.mint(aud=resource, exp=None), 401),
        "not valid yet": (idp.mint(aud=resource, nbf=now + 3600), 401),
        "missing the required scope": (idp.mint(aud=resource, scope="openid"), 403),
        "not a token": ("not-a-token", 401),
    }


def _hmac_token(idp: Idp, resource: str) -> str:
    from cryptography.hazmat.primitives import serialization

    public = idp.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": idp.kid}
    body: dict[str, Any] = {"iss": idp.issuer, "sub": "x", "aud": resource, "scope": SCOPE}
    body["exp"] = int(time.time()) + 600
    # PyJWT refuses a PEM as an HMAC secret; sign by hand as an attacker would.
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    mac = hmac.new(public, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(mac)}"


async def test_each_bad_token_is_refused_before_any_tool_runs(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """Other audience, expired, unknown key, alg none, HMAC, other issuer, no sub, no exp,
    nbf ahead: 401; missing scope: 403. No request reaches the gateway; a good token of the
    same shape initializes."""
    async with serve_oauth(settings, idp) as served:
        async with httpx.AsyncClient(timeout=30) as http:
            got = {}
            for name, (token, _) in refusals(idp, served.url).items():
                auth = {**HEADERS, "Authorization": f"Bearer {token}"}
                for body in (raw_initialize(), CREATE):
                    response = await http.post(served.url, json=body, headers=auth)
                    got[name] = response.status_code
                    challenge = response.headers.get("www-authenticate", "")
                    assert challenge.startswith("Bearer "), (name, challenge)
                    assert "resource_metadata=" in challenge, (name, challenge)
            accepted = []
            for good in (
                idp.mint(aud=served.url),
                idp.mint(aud=["https://other.example/mcp", served.url]),  # a list holding it
                idp.mint(aud=served.url, scope=None, scp=[SCOPE]),  # scopes as `scp`
                idp.mint(aud=served.url, exp=int(time.time()) - 30),  # within the leeway
            ):
                answer = await http.post(
                    served.url,
                    json=raw_initialize(),
                    headers={**HEADERS, "Authorization": f"Bearer {good}"},
                )
                accepted.append(answer.status_code)
            called = await http.post(
                served.url,
                json={**CREATE, "id": 3},
                headers={**HEADERS, "Authorization": f"Bearer {good}"},
            )
    assert got == {name: status for name, (_, status) in refusals(idp, served.url).items()}
    assert accepted == [200, 200, 200, 200]
    assert called.status_code not in (401, 403)
    assert sum(emulator.counters.values()) == 0, emulator.counters


async def test_protected_resource_metadata_names_the_issuer(
    settings: Settings, emulator: EmulatorHandle, idp: Idp
) -> None:
    """A bare request gets 401 pointing at the metadata, which names this resource, the
    team's issuer and the required scope."""
    async with serve_oauth(settings, idp) as served:
        async with httpx.AsyncClient(timeout=30) as http:
            bare = await http.post(served.url, json=raw_initialize(), headers=HEADERS)
            metadata = (
                await http.get(f"{served.base}/.well-known/oauth-protected-resource/mcp")
            ).json()
    assert bare.status_code == 401
    assert (
        f'resource_metadata="{served.base}/.well-known/oauth-protected-resource/mcp"'
        in (bare.headers["www-authenticate"])
    )
    assert metadata["resource"] == served.url
    assert metadata["authorization_servers"] == [idp.issuer]
    assert metadata["scopes_supported"] == [SCOPE]


async def test_the_public_url_host_is_an_allowed_host(
    settings: Settings, emulator: EmulatorHandle, idp: Idp, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a proxy, requests for PHASEO_PUBLIC_URL's host pass the DNS-rebinding check
    (with a token); any other host is refused. No token reaches the log."""
    caplog.set_level(logging.DEBUG)
    sock = bound_socket()
    port = sock.getsockname()[1]
    public = oauth_settings(settings, idp, "https://mcp.example.test")
    app = build_http_app(public, HttpOptions(port=port))
    token = idp.mint(aud="https://mcp.example.test/mcp")
    try:
        async with serve_app(app, sock) as served, httpx.AsyncClient(timeout=30) as http:
            answers = {}
            for host, auth in (
                ("mcp.example.test", {}),
                ("mcp.example.test", {"Authorization": f"Bearer {token}"}),
                ("evil.example", {"Authorization": f"Bearer {token}"}),
            ):
                response = await http.post(
                    served.url, json=raw_initialize(), headers={**HEADERS, "Host": host, **auth}
                )
                answers[host, bool(auth)] = response.status_code
    finally:
        sock.close()
    assert answers == {
        ("mcp.example.test", False): 401,
        ("mcp.example.test", True): 200,
        ("evil.example", True): 421,
    }
    assert token not in caplog.text
