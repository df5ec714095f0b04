"""The doctor's webhook row (issue 17): what is missing, where events would go, no secret."""

from __future__ import annotations

import pytest

from phaseo_mcp.config import Settings
from phaseo_mcp.doctor.webhooks import check_webhooks

SECRET = "whsec_doctor_0123456789abcdef"


@pytest.mark.parametrize(
    ("env", "status", "says"),
    [
        ({}, "OK", "off"),
        ({"PHASEO_PUBLIC_URL": "https://m.example.com"}, "WARN", "without PHASEO_WEBHOOK_SECRET"),
        ({"PHASEO_WEBHOOK_SECRET": SECRET}, "WARN", "not where the gateway should send"),
        (
            {"PHASEO_PUBLIC_URL": "https://m.example.com", "PHASEO_WEBHOOK_SECRET": SECRET},
            "OK",
            "https://m.example.com/webhooks/phaseo",
        ),
        (
            {"PHASEO_WEBHOOK_ENDPOINT_ID": "we_9", "PHASEO_WEBHOOK_SECRET": SECRET},
            "OK",
            "R6 endpoint we_9",
        ),
        (
            {"PHASEO_PUBLIC_URL": "https://m.example.com", "PHASEO_WEBHOOK_SECRET": "short"},
            "WARN",
            "shorter than 16",
        ),
    ],
)
def test_webhook_row(env: dict[str, str], status: str, says: str) -> None:
    """Each partial setup says what is missing; the secret itself is never printed."""
    check = check_webhooks(Settings.from_env(env))
    assert check.status == status and says in check.detail
    assert SECRET not in check.detail + check.fix
