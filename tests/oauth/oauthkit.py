"""A real OpenID provider on loopback (node-oidc-provider, pinned in idp/), sign-in through its
own login and consent forms by HTTP form posts, tokens minted with its signing key, and
phaseo-mcp served in ``--auth oauth`` mode against it.

Every wait is bounded and the provider process is always stopped.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from phaseo_mcp.config import Settings
from phaseo_mcp.oauth_config import OAuthConfig
from phaseo_mcp.server.http import HttpOptions, build_http_app

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "http"))
from httpkit import (  # noqa: E402
    Served,
    bound_socket,
    create,
    free_port,
    mcp_client,
    serve_app,
    stop_process,
)
from idp_install import idp_modules, install, pinned  # noqa: E402

START_TIMEOUT = 30.0
SCOPE = "videos"
RS_CLIENT = "phaseo-mcp-rs"
RS_SECRET = "rs-secret-0123456789abcdef-never-logged"  # noqa: S105 - a test client's secret
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never reached: the test stops at the redirect


def new_key(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    """A fresh RSA key and its private JWK (kid, RS256, use sig)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return key, jwk


@dataclass
class Idp:
    issuer: str
    key: rsa.RSAPrivateKey
    kid: str
    proc: subprocess.Popen[bytes]

    def mint(
        self,
        *,
        key: Any = None,
        kid: str | None = None,
        alg: str = "RS256",
        **claims: Any,
    ) -> str:
        """A JWT signed with the provider's own key (or ``key``); claims default to a valid
        token for nobody in particular, ``None`` drops one."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "minted-user",
            "iat": now,
            "exp": now + 600,
            "scope": SCOPE,
            "client_id": "minted",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        signing = None if alg == "none" else (key if key is not None else self.key)
        headers = {"kid": kid or self.kid, "typ": "at+jwt"}
        return jwt.encode(body, signing, algorithm=alg, headers=headers)


def idp_dir() -> Path:
    """The provider's installed node_modules; installed on first use, skip without node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the OAuth provider tests")
    modules = idp_modules()
    if not modules.exists():
        ok, detail = install()
        assert ok, f"npm ci of {'@'.join(pinned())} failed:\n{detail}"
    return modules


@contextmanager
def running_idp(work: Path, *, token_format: str = "jwt", ttl: int = 3600) -> Iterator[Idp]:
    """The provider on a free loopback port until the block ends."""
    run_dir = work / f"idp-{token_format}"
    run_dir.mkdir(parents=True, exist_ok=True)
    link = run_dir / "node_modules"
    if not link.exists():
        link.symlink_to(idp_dir(), target_is_directory=True)
    shutil.copy2(HERE / "idp" / "provider.mjs", run_dir / "provider.mjs")
    key, jwk = new_key("idp-key-1")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "IDP_JWKS": json.dumps({"keys": [jwk]}),
        "IDP_RESOURCE_FORMAT": token_format,
        "IDP_SCOPE": SCOPE,
        "IDP_RS_CLIENT": RS_CLIENT,
        "IDP_RS_SECRET": RS_SECRET,
        "IDP_AT_TTL": str(ttl),
    }
    log = (run_dir / "idp.log").open("wb")
    proc = subprocess.Popen(
        ["node", "provider.mjs", str(port)],
        cwd=run_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,  # stop_process signals its process group
    )
    try:
        issuer = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            logged = (run_dir / "idp.log").read_text()
            raise AssertionError(f"the provider did not start:\n{logged}")
        yield Idp(issuer, key, "idp-key-1", proc)
    finally:
        stop_process(proc)
        log.close()


def oauth_settings(
    settings: Settings,
    idp: Idp,
    public_url: str,
    *,
    scopes: tuple[str, ...] = (SCOPE,),
    introspect: bool = False,
    **more: Any,
) -> Settings:
    config = OAuthConfig(
        issuer=idp.issuer,
        scopes=scopes,
        introspection_url=f"{idp.issuer}/token/introspection" if introspect else None,
        client_id=RS_CLIENT if introspect else None,
        client_secret=RS_SECRET if introspect else None,  # type: ignore[arg-type]
    )
    return settings.model_copy(
        update={"auth": "oauth", "oauth": config, "public_url": public_url, **more}
    )


@asynccontextmanager
async def serve_oauth(
    settings: Settings, idp: Idp, *, options: HttpOptions | None = None, **kw: Any
) -> AsyncIterator[Served]:
    """phaseo-mcp in ``--auth oauth`` mode on a free port; its public URL is its own."""
    sock = bound_socket()
    opts = options or HttpOptions()
    opts.port = sock.getsockname()[1]
    public = f"http://127.0.0.1:{opts.port}"
    app = build_http_app(oauth_settings(settings, idp, public, **kw), opts)
    try:
        async with serve_app(app, sock, opts.path) as served:
            yield served
    finally:
        sock.close()


_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input([^>]*)>", re.S)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def _form(page: str, base: str) -> tuple[str, dict[str, str]]:
    """The page's first form: its absolute action and hidden/named field values."""
    found = _FORM.search(page)
    assert found, f"no form on the provider's page:\n{page[:2000]}"
    action, inner = found.groups()
    fields = {}
    for attrs in _INPUT.findall(inner):
        values = dict(_ATTR.findall(attrs))
        if "name" in values:
            fields[values["name"]] = html.unescape(values.get("value", ""))
    return urljoin(base, html.unescape(action)), fields


async def sign_in(authorization_url: str, login: str, redirect_uri: str = REDIRECT_URI) -> str:
    """Sign ``login`` in at the provider's own forms and consent; the redirect URL carrying
    the code (never followed)."""
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        response = await browser.get(authorization_url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    return location
                response = await browser.get(location)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:2000])
            action, fields = _form(response.text, str(response.url))
            if fields.get("prompt") == "login":
                fields.update(login=login, password="any password")  # noqa: S105
            response = await browser.post(action, data=fields)
        raise AssertionError("the provider's sign-in did not end at the redirect URI")


def code_of(redirect: str) -> dict[str, str]:
    """code, state and iss of a redirect URL."""
    query = parse_qs(urlsplit(redirect).query)
    assert "error" not in query, query
    return {k: v[0] for k, v in query.items()}


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


async def estimate_of(settings: Settings, idp: Idp) -> float:
    """The catalogue estimate of the standard create (one probe job, no budget)."""
    async with serve_oauth(settings, idp) as served:
        async with mcp_client(served.url, token=idp.mint(aud=served.url, sub="probe")) as c:
            made = await create(c, prompt="probe")
    value = made["estimated_cost_usd"]
    assert isinstance(value, float | int) and value > 0, made
    return float(value)
