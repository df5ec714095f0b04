"""jobs/fingerprint.py: the key's fingerprint never reveals the key; the request's fingerprint
is stable under reordering and blind to secrets."""

from __future__ import annotations

import pytest

from phaseo_mcp.jobs.fingerprint import key_fingerprint, request_fingerprint, without_secrets

KEY = "phaseo_v1_sk_abc_def"
BODY = {"model": "m", "prompt": "p", "webhook": {"url": "https://e.com/h", "secret": "s3"}}


def test_a_key_fingerprint_is_stable_distinct_and_not_the_key() -> None:
    """The same key gives the same fingerprint, another key another, and no part of the key."""
    fp = key_fingerprint(KEY)
    assert fp == key_fingerprint(KEY) != key_fingerprint(KEY + "x")
    assert KEY not in fp and "sk_abc" not in fp
    assert key_fingerprint(None) == key_fingerprint("") == "no-key"


def test_secret_looking_fields_are_dropped_at_every_depth() -> None:
    """without_secrets removes secret, token, api key and authorization fields, nested too."""
    body = {
        "prompt": "p",
        "Authorization": "Bearer x",
        "nested": [{"api-key": "k", "keep": 1}, {"token": "t"}],
        "webhook": {"secret": "s", "url": "u"},
    }
    assert without_secrets(body) == {
        "prompt": "p",
        "nested": [{"keep": 1}, {}],
        "webhook": {"url": "u"},
    }


def test_the_request_fingerprint_ignores_order_secrets_and_a_trailing_slash() -> None:
    """Reordered fields, another webhook secret or a trailing slash give the same fingerprint."""
    fp = request_fingerprint("k", "http://gw/v1", BODY)
    reordered = {
        "webhook": {"secret": "other", "url": "https://e.com/h"},
        "prompt": "p",
        "model": "m",
    }
    assert request_fingerprint("k", "http://gw/v1/", reordered) == fp


@pytest.mark.parametrize(
    ("key_fp", "base_url", "change"),
    [
        ("other", "http://gw/v1", {}),
        ("k", "http://other/v1", {}),
        ("k", "http://gw/v1", {"prompt": "q"}),
        ("k", "http://gw/v1", {"duration": 8}),
    ],
)
def test_the_request_fingerprint_changes_with_key_gateway_or_content(
    key_fp: str, base_url: str, change: dict[str, object]
) -> None:
    """Another key, another gateway or another request field gives another fingerprint."""
    assert request_fingerprint(key_fp, base_url, {**BODY, **change}) != request_fingerprint(
        "k", "http://gw/v1", BODY
    )
