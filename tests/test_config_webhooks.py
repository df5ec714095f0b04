"""Webhook settings (issue 17): the public URL's shape, the secret kept secret, the cadence."""

from __future__ import annotations

import pytest

from phaseo_mcp.config import WEBHOOK_PATH, Settings
from phaseo_mcp.gateway.job import Job
from phaseo_mcp.gateway.responses import VideoObject
from phaseo_mcp.jobs.wait import poll_interval


@pytest.mark.parametrize(
    "url",
    [
        "https://mcp.example.com",
        "https://mcp.example.com:8443/phaseo",
        "http://localhost:8000",
        "http://127.0.0.1",
        "http://[::1]:9000",
    ],
)
def test_public_urls_the_gateway_can_reach_are_accepted(url: str) -> None:
    """https:// anywhere, plain http only on loopback names (the gateway's own rule)."""
    settings = Settings.from_env({"PHASEO_PUBLIC_URL": url, "PHASEO_WEBHOOK_SECRET": "s3cret"})
    assert settings.public_url == url and settings.webhook_url == url + WEBHOOK_PATH
    assert settings.webhooks_configured


@pytest.mark.parametrize(
    "url",
    [
        "http://mcp.example.com",
        "https://mcp.example.com/",
        "ftp://mcp.example.com",
        "https://user:pw@mcp.example.com",
        "https://mcp.example.com?x=1",
        "mcp.example.com",
    ],
)
def test_other_public_urls_are_refused_with_what_to_write(url: str) -> None:
    """A plain-http remote host, a trailing slash, credentials or a query are refused."""
    with pytest.raises(ValueError, match="PHASEO_PUBLIC_URL"):
        Settings.from_env({"PHASEO_PUBLIC_URL": url})


def test_webhook_settings_from_the_environment_and_the_flag() -> None:
    """The flag wins; the secret never shows in the settings' repr; R6 needs no public URL."""
    env = {
        "PHASEO_PUBLIC_URL": "https://a.example.com",
        "PHASEO_WEBHOOK_SECRET": "whsec_hidden_value",
        "PHASEO_WEBHOOK_ENDPOINT_ID": "we_123",
        "PHASEO_WEBHOOK_POLL_FACTOR": "6",
    }
    settings = Settings.from_env(env, public_url="https://b.example.com")
    assert settings.public_url == "https://b.example.com"
    assert settings.webhook_endpoint_id == "we_123" and settings.webhook_poll_factor == 6
    assert "whsec_hidden_value" not in repr(settings)
    r6 = Settings.from_env({"PHASEO_WEBHOOK_SECRET": "x", "PHASEO_WEBHOOK_ENDPOINT_ID": "we_1"})
    assert r6.webhooks_configured and r6.webhook_url is None
    assert not Settings.from_env({"PHASEO_PUBLIC_URL": "https://a.example.com"}).webhooks_configured
    with pytest.raises(ValueError):
        Settings.from_env({"PHASEO_WEBHOOK_POLL_FACTOR": "0.5"})


@pytest.mark.parametrize(
    ("gateway_says", "factor", "expected"),
    [(10, 4.0, 30.0), (5, 4.0, 20.0), (2, 1.0, 2.0), (45, 4.0, 45.0), (20, 4.0, 30.0)],
)
def test_safety_net_polls_are_slower_but_never_past_30_s(
    gateway_says: int, factor: float, expected: float
) -> None:
    """factor x the gateway's interval, capped at 30 s unless the gateway asks for longer."""
    raw = {"id": "G-1", "status": "processing", "poll_after_seconds": gateway_says}
    job = Job.from_api(VideoObject.model_validate(raw))
    assert poll_interval(job, 1.0, factor) == expected
