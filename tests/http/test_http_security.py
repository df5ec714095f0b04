"""Streamable HTTP safety: bearer tokens, Host/Origin checks, body limit, /healthz, binds.

Real uvicorn servers on 127.0.0.1; the mcp client in both eras; raw httpx for the refusals.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import (
    RAW_INITIALIZE,
    ROOT,
    TOKEN_A,
    TOKEN_B,
    launch,
    leaves,
    mcp_client,
    serve_phaseo,
    server_env,
    terminate,
)
from mcp import MCPError

from phaseo_mcp.config import Settings, is_loopback
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.server.http import (
    TOKENS_ENV,
    HttpOptions,
    StaticTokenVerifier,
    build_http_app,
    parse_tokens,
)

from helpers import TEST_KEY, TOOL_NAMES, make_settings

pytestmark = pytest.mark.anyio
TOOLS = TOOL_NAMES
INIT = RAW_INITIALIZE
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


@pytest.fixture
def offline_settings(tmp_path: Path) -> Settings:
    """Settings whose gateway is never contacted (these tests only list tools)."""
    return make_settings("http://127.0.0.1:9/v1", tmp_path / "out", tmp_path / "state")


async def _post(url: str, body: Any = INIT, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=15) as http:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await http.post(url, content=content, headers={**MCP_HEADERS, **headers})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_configured_token_is_accepted(offline_settings: Settings, mode: str) -> None:
    """With two tokens configured, a client holding either one lists the tools."""
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A, TOKEN_B]) as served:
        for token in (TOKEN_A, TOKEN_B):
            with anyio.fail_after(30):
                async with mcp_client(served.url, mode, token=token) as client:
                    tools = await client.list_tools()
            assert {t.name for t in tools.tools} == TOOLS


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN_A}", f"Bearer {TOKEN_A}x", "Bearer"],
)
async def test_missing_or_wrong_token_gets_401_with_www_authenticate(
    offline_settings: Settings, authorization: str | None
) -> None:
    """No token, a wrong one or another scheme: 401 and a Bearer WWW-Authenticate challenge."""
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A]) as served:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = await _post(served.url, **headers)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert "resource_metadata" not in challenge, "no OAuth server exists to point at"
    assert TOKEN_A not in response.text and TOKEN_A not in challenge


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/register",
    ],
)
async def test_no_oauth_metadata_is_advertised(offline_settings: Settings, path: str) -> None:
    """Bearer tokens are static: no discovery document sends clients to a non-existent AS."""
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A]) as served:
        base = served.url.removesuffix("/mcp")
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.get(base + path)
            registered = await http.post(base + path, json={"redirect_uris": ["http://x/cb"]})
    assert response.status_code == 404, response.text
    assert registered.status_code in (404, 405)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_client_with_wrong_token_fails_cleanly(
    offline_settings: Settings, mode: str
) -> None:
    """The real client with a wrong token gets an error promptly, never a session."""
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A]) as served:
        with anyio.fail_after(30), pytest.raises(Exception) as caught:  # noqa: B017
            async with mcp_client(served.url, mode, token="not-the-token") as client:
                await client.list_tools()
    # The SDK client reports any HTTP refusal as an MCPError (-32603), inside task groups.
    assert any(isinstance(e, MCPError) for e in leaves(caught.value)), repr(caught.value)


def test_tokens_are_trimmed_and_empty_entries_dropped() -> None:
    """PHASEO_MCP_AUTH_TOKENS is comma-separated; whitespace and empty entries are ignored."""
    assert parse_tokens(f"  {TOKEN_A} ,\t{TOKEN_B}\n,, ,") == [TOKEN_A, TOKEN_B]
    assert parse_tokens(TOKEN_A) == [TOKEN_A]
    assert parse_tokens("") == [] and parse_tokens(None) == [] and parse_tokens(" , ") == []


async def test_verifier_matches_exactly() -> None:
    """A prefix, a suffix or a padded token is not a match; each token maps to its own id."""
    verifier = StaticTokenVerifier([TOKEN_A, TOKEN_B])
    a = await verifier.verify_token(TOKEN_A)
    b = await verifier.verify_token(TOKEN_B)
    assert a is not None and b is not None and a.client_id != b.client_id
    for wrong in (TOKEN_A[:-1], TOKEN_A + "x", f" {TOKEN_A}", "", TOKEN_A.upper()):
        assert await verifier.verify_token(wrong) is None


async def test_tokens_with_whitespace_from_env_work_over_http(
    offline_settings: Settings, tmp_path: Path
) -> None:
    """Tokens read with surrounding whitespace authenticate by their trimmed value."""
    tokens = parse_tokens(f"\n {TOKEN_A} ,  {TOKEN_B}  \n")
    async with serve_phaseo(offline_settings, tokens=tokens) as served:
        async with mcp_client(served.url, "legacy", token=TOKEN_B) as client:
            assert len((await client.list_tools()).tools) == len(TOOLS)
        padded = await _post(served.url, Authorization=f"Bearer  {TOKEN_B}")
        assert padded.status_code == 401


async def test_wrong_host_is_421_and_allowed_host_passes(offline_settings: Settings) -> None:
    """DNS-rebinding protection: an unknown Host gets 421; an --allowed-host name is served."""
    async with serve_phaseo(
        offline_settings, tokens=[TOKEN_A], allowed_hosts=["mcp.example.com"]
    ) as served:
        auth = f"Bearer {TOKEN_A}"
        bad = await _post(served.url, Authorization=auth, Host="evil.example.net")
        rebinding = await _post(served.url, Authorization=auth, Host=f"attacker.test:{served.port}")
        named = await _post(served.url, Authorization=auth, Host="mcp.example.com")
        named_port = await _post(served.url, Authorization=auth, Host="mcp.example.com:443")
        local = await _post(served.url, Authorization=auth, Host=f"localhost:{served.port}")
    assert bad.status_code == 421 and rebinding.status_code == 421
    assert named.status_code == 200, named.text
    assert named_port.status_code == 200 and local.status_code == 200


async def test_wrong_host_is_421_without_auth_on_loopback(offline_settings: Settings) -> None:
    """The loopback default (no tokens) still checks Host."""
    async with serve_phaseo(offline_settings) as served:
        bad = await _post(served.url, Host="evil.example.net")
        good = await _post(served.url)
    assert bad.status_code == 421
    assert good.status_code == 200


async def test_bad_origin_is_403_and_local_origin_passes(offline_settings: Settings) -> None:
    """A browser page from another origin gets 403; localhost origins and no Origin pass."""
    async with serve_phaseo(
        offline_settings, tokens=[TOKEN_A], allowed_hosts=["mcp.example.com"]
    ) as served:
        auth = f"Bearer {TOKEN_A}"
        evil = await _post(served.url, Authorization=auth, Origin="http://evil.example.net")
        lookalike = await _post(
            served.url, Authorization=auth, Origin="http://localhost.evil.example.net"
        )
        local = await _post(
            served.url, Authorization=auth, Origin=f"http://localhost:{served.port}"
        )
        named = await _post(served.url, Authorization=auth, Origin="https://mcp.example.com")
    assert evil.status_code == 403 and lookalike.status_code == 403
    assert local.status_code == 200 and named.status_code == 200


async def test_oversized_body_is_413(offline_settings: Settings) -> None:
    """A request body over the limit (4 MiB) is refused with 413 before it is parsed."""
    huge = dict(INIT, params={**INIT["params"], "padding": "x" * (5 * 1024 * 1024)})  # type: ignore[dict-item]
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A]) as served:
        response = await _post(served.url, huge, Authorization=f"Bearer {TOKEN_A}")
        still_fine = await _post(served.url, Authorization=f"Bearer {TOKEN_A}")
    assert response.status_code == 413
    assert still_fine.status_code == 200


async def test_healthz_needs_no_token_and_reveals_nothing(offline_settings: Settings) -> None:
    """/healthz answers 200 {"status": "ok"} without auth; no version, no server banner."""
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A]) as served:
        async with httpx.AsyncClient(timeout=15) as http:
            health = await http.get(served.base + "/healthz")
            post = await http.post(served.base + "/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert "server" not in health.headers
    assert post.status_code == 405
    assert TOKEN_A not in health.text


def test_non_loopback_bind_without_token_is_refused(offline_settings: Settings) -> None:
    """0.0.0.0 with no token raises ConfigError naming the fix; a token or the flag allows it."""
    with pytest.raises(ConfigError) as refused:
        build_http_app(offline_settings, HttpOptions(host="0.0.0.0"))
    assert TOKENS_ENV in refused.value.message and "--insecure-no-auth" in refused.value.message
    with pytest.raises(ConfigError):
        build_http_app(offline_settings, HttpOptions(host="192.0.2.10"))
    build_http_app(offline_settings, HttpOptions(host="0.0.0.0", tokens=[TOKEN_A]))
    build_http_app(offline_settings, HttpOptions(host="0.0.0.0", insecure_no_auth=True))
    build_http_app(offline_settings, HttpOptions(host="localhost"))
    build_http_app(offline_settings, HttpOptions(host="::1", tokens=[TOKEN_A]))  # IPv6 URL
    build_http_app(offline_settings, HttpOptions(host="2001:db8::1", tokens=[TOKEN_A]))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Only loopback addresses and the name localhost count as loopback."""
    assert is_loopback(host) is loopback


def test_cli_refuses_non_loopback_bind_without_token(tmp_path: Path) -> None:
    """`phaseo-mcp serve --transport http --host 0.0.0.0` with no token exits 2 and says why."""
    env = server_env("http://127.0.0.1:9/v1", tmp_path / "out", tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-m", "phaseo_mcp", "serve", "--transport", "http", "--host", "0.0.0.0",
         "--port", "1"],
        env=env, cwd=ROOT, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    err = done.stderr.decode(errors="replace")
    assert TOKENS_ENV in err and "--insecure-no-auth" in err, err
    assert done.stdout == b""


async def test_tokens_and_keys_never_reach_the_log(emulator: Any, tmp_path: Path) -> None:
    """At DEBUG, a served session, a refused token and a multi-user key leave no trace in logs."""
    user_key = "phaseo_v1_sk_loguser_cccccccccccccccccccc03"
    wrong = "wrong-token-that-must-not-be-logged-42"
    env = server_env(
        emulator.base_url,
        tmp_path / "out",
        tmp_path / "state",
        tokens=f" {TOKEN_A} , {TOKEN_B} ",
        extra={"PHASEO_LOG_LEVEL": "DEBUG"},
    )
    replica = await launch(env, tmp_path / "server.log", ["--multi-user", "--stateless"])
    try:
        with anyio.fail_after(60):
            async with mcp_client(
                replica.url, token=TOKEN_A, headers={"X-Phaseo-Api-Key": user_key}
            ) as client:
                models = await client.call_tool("list_video_models", {})
                assert not models.is_error
            refused = await _post(replica.url, Authorization=f"Bearer {wrong}")
            assert refused.status_code == 401
    finally:
        await terminate(replica)
    log = replica.output()
    assert "DEBUG" in log  # the log really was verbose
    for secret in (TOKEN_A, TOKEN_B, wrong, user_key, TEST_KEY):
        assert secret not in log, secret


async def test_a_session_belongs_to_the_token_that_opened_it(offline_settings: Settings) -> None:
    """Stateful mode: another valid token cannot use a session id it did not open (404)."""
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    async with serve_phaseo(offline_settings, tokens=[TOKEN_A, TOKEN_B]) as served:
        opened = await _post(served.url, Authorization=f"Bearer {TOKEN_A}")
        session = opened.headers["mcp-session-id"]
        common = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await _post(served.url, initialized, Authorization=f"Bearer {TOKEN_A}", **common)
        other = await _post(served.url, listing, Authorization=f"Bearer {TOKEN_B}", **common)
        owner = await _post(served.url, listing, Authorization=f"Bearer {TOKEN_A}", **common)
    assert opened.status_code == 200
    assert other.status_code == 404
    assert owner.status_code == 200 and "create_video" in owner.text
