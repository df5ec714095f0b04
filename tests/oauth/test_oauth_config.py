"""``--auth oauth`` settings and what the server refuses to start with; ``doctor`` against
the real provider (and a wrong issuer)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from oauthkit import RS_SECRET, Idp

from phaseo_mcp.cli import main
from phaseo_mcp.config import Settings
from phaseo_mcp.doctor import run_doctor
from phaseo_mcp.errors import ConfigError
from phaseo_mcp.oauth_config import OAuthConfig
from phaseo_mcp.server.http import HttpOptions, build_http_app

from helpers import TEST_KEY, make_settings

ISSUER = "https://login.example.com/realms/team"


def oauth(tmp_path: Path, **more: object) -> Settings:
    base = make_settings("http://127.0.0.1:1/v1", tmp_path / "out", tmp_path / "state")
    values = {
        "auth": "oauth",
        "oauth": OAuthConfig(issuer=ISSUER),
        "public_url": "https://mcp.example.com",
    }
    return base.model_copy(update={**values, **more})


def test_environment_builds_the_oauth_settings() -> None:
    """PHASEO_AUTH=oauth reads issuer, scopes, introspection client and the budget; the
    client secret is hidden in the settings' text."""
    settings = Settings.from_env(
        {
            "PHASEO_AUTH": "oauth",
            "PHASEO_OAUTH_ISSUER": ISSUER,
            "PHASEO_OAUTH_SCOPES": "videos  videos:write",
            "PHASEO_OAUTH_INTROSPECTION_URL": ISSUER + "/introspect",
            "PHASEO_OAUTH_CLIENT_ID": "rs",
            "PHASEO_OAUTH_CLIENT_SECRET": RS_SECRET,
            "PHASEO_PUBLIC_URL": "https://mcp.example.com",
            "PHASEO_DAILY_BUDGET_USD": "$12.50",
        }
    )
    assert settings.auth == "oauth" and settings.oauth is not None
    assert settings.oauth.scopes == ("videos", "videos:write")
    assert settings.oauth.client_secret_value() == RS_SECRET
    assert settings.daily_budget_usd == 12.5 and settings.public_url == "https://mcp.example.com"
    assert RS_SECRET not in repr(settings) and RS_SECRET not in str(settings)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PHASEO_AUTH": "oauth"}, "PHASEO_OAUTH_ISSUER"),
        ({"PHASEO_AUTH": "saml"}, "PHASEO_AUTH"),
        ({"PHASEO_AUTH": "oauth", "PHASEO_OAUTH_ISSUER": "http://idp.example.com"}, "https://"),
        ({"PHASEO_PUBLIC_URL": "http://mcp.example.com"}, "PHASEO_PUBLIC_URL"),
        ({"PHASEO_PUBLIC_URL": "https://mcp.example.com/"}, "trailing slash"),
        ({"PHASEO_DAILY_BUDGET_USD": "lots"}, "PHASEO_DAILY_BUDGET_USD"),
        (
            {
                "PHASEO_AUTH": "oauth",
                "PHASEO_OAUTH_ISSUER": ISSUER,
                "PHASEO_OAUTH_INTROSPECTION_URL": ISSUER + "/i",
            },
            "PHASEO_OAUTH_CLIENT_SECRET",
        ),
    ],
)
def test_bad_oauth_settings_are_refused_with_the_variable_to_fix(
    env: dict[str, str], words: str
) -> None:
    """Each bad value names the variable (or the form) to fix."""
    with pytest.raises(ValueError, match=words):
        Settings.from_env(env)


def test_public_url_accepts_https_and_loopback_http() -> None:
    """https anywhere, http only on localhost/127.0.0.1 (development)."""
    for url in ("https://mcp.example.com", "http://127.0.0.1:8000", "http://localhost:8000/x"):
        assert Settings.from_env({"PHASEO_PUBLIC_URL": url}).public_url == url


@pytest.mark.parametrize(
    ("options", "more", "words"),
    [
        (HttpOptions(multi_user=True), {}, "--multi-user"),
        (HttpOptions(tokens=["t0123456789"]), {}, "PHASEO_MCP_AUTH_TOKENS"),
        (HttpOptions(), {"public_url": None}, "PHASEO_PUBLIC_URL"),
        (HttpOptions(), {"api_key": None}, "PHASEO_API_KEY"),
    ],
)
def test_oauth_refuses_to_start_with_conflicting_settings(
    tmp_path: Path, options: HttpOptions, more: dict[str, object], words: str
) -> None:
    """oauth with --multi-user, with static tokens, without a public URL or the team key."""
    with pytest.raises(ConfigError, match=words):
        build_http_app(oauth(tmp_path, **more), options)


def test_cli_refuses_oauth_without_an_issuer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``serve --auth oauth`` with no issuer exits 2 before serving, saying what to set."""
    for name in ("PHASEO_OAUTH_ISSUER", "PHASEO_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHASEO_API_KEY", TEST_KEY)
    status = main(["serve", "--transport", "http", "--auth", "oauth", "--state-dir", str(tmp_path)])
    assert status == 2
    assert "PHASEO_OAUTH_ISSUER" in capsys.readouterr().err


def test_doctor_checks_the_issuer_metadata(idp: Idp, tmp_path: Path) -> None:
    """The real provider's metadata passes (issuer, JWKS, RS256, scope listed); a wrong
    issuer (metadata naming another) fails with the fix."""
    good = oauth(tmp_path, oauth=OAuthConfig(issuer=idp.issuer, scopes=("videos",)))
    out = io.StringIO()
    run_doctor(good, {}, out=out)
    report = out.getvalue()
    assert "OAuth issuer" in report and "metadata valid" in report, report
    assert "RS256" in report and "OAuth scopes" not in report
    wrong = oauth(tmp_path, oauth=OAuthConfig(issuer=idp.issuer + "/other", scopes=("nope",)))
    out = io.StringIO()
    assert run_doctor(wrong, {}, out=out) == 1
    assert "PHASEO_OAUTH_ISSUER" in out.getvalue()
