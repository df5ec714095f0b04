"""Gateway error answers as the user sees them (phaseo-api.md §12, issue 5 "Error mapping"):
each is an ``isError`` result whose message says what to do next, carries the right
``failure_kind``, never shows the key, and costs exactly the upstream requests the retry
policy allows (default 4 retries, waits zeroed by ``make_settings``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from phaseo_mcp.config import RetryPolicy
from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.server.app import build_server

from helpers import OTHER_KEY, SUNRISE, TEST_KEY, TIME_SCALE, data, make_settings, text

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "G-0123456789abcdef01234567"
CALL_TIMEOUT_SECONDS = 30
ATTEMPTS = 1 + RetryPolicy().max_retries  # one request plus the default retries
HTML_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx PROXY-PAGE-MARKER</center></body></html>"
)


async def call(client: Client, tool: str, args: dict[str, Any]) -> CallToolResult:
    """One tool call that cannot hang the suite."""
    with anyio.fail_after(CALL_TIMEOUT_SECONDS):
        return await client.call_tool(tool, args)


def failed(result: CallToolResult, kind: str) -> str:
    """The error text of a result that must be a clear, key-free error of ``kind``."""
    message = text(result)
    assert result.is_error, message[:600]
    fields = data(result)
    assert fields["failure_kind"] == kind, message[:600]
    assert fields["error"] and fields["error"] in message
    assert "Traceback" not in message and len(message) < 4000, message[:600]
    assert TEST_KEY not in message and TEST_KEY[-12:] not in message
    assert OTHER_KEY not in message and OTHER_KEY[-12:] not in message
    return str(fields["error"])


def upstream(emulator: EmulatorHandle) -> dict[str, int]:
    """Requests per route, leaving out the catalogue read a create makes first."""
    return {route: n for route, n in emulator.counters.items() if n and route != "models"}


async def _job(client: Client, emulator: EmulatorHandle) -> str:
    created = await call(client, "create_video", SUNRISE)
    assert not created.is_error, text(created)
    emulator.clock.advance(10_000)
    emulator.counters.reset()
    return str(data(created)["video_id"])


def _json_fault(emulator: EmulatorHandle, route: str, status: int, body: dict[str, Any]) -> None:
    """An error answer with fields the plain http fault cannot carry (details, diagnostics)."""
    emulator.faults.add(
        route, "http", status=status, body=json.dumps(body), content_type="application/json"
    )


# ---------------------------------------------------------------- 400 validation


async def test_gateway_validation_details_name_the_field(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An R6 webhook endpoint the gateway does not know passes local checks; the gateway's
    zod-style details (path webhook.endpoint_id) must reach the result."""
    args = {**SUNRISE, "webhook": {"endpoint_id": "we_not_configured"}}
    message = failed(await call(client, "create_video", args), "invalid_input")
    assert "webhook.endpoint_id" in message
    assert "endpoint not found or inactive" in message
    assert "no job was created" in message
    assert upstream(emulator) == {"create": 1}
    assert emulator.jobs == {}


async def test_gateway_validation_details_in_param_and_loc_shapes(
    client: Client, emulator: EmulatorHandle
) -> None:
    """Details as OpenAI-style ``param`` and pydantic-style ``loc`` lists are named too."""
    _json_fault(
        emulator,
        "create",
        400,
        {
            "error": "validation_error",
            "error_type": "user",
            "description": "Invalid request.",
            "details": [
                {"param": "resolution", "message": "not offered by this provider"},
                {"loc": ["input_references", 0, "role"], "msg": "unsupported role"},
            ],
        },
    )
    message = failed(await call(client, "create_video", SUNRISE), "invalid_input")
    assert "resolution: not offered by this provider" in message
    assert "input_references.0.role: unsupported role" in message
    assert upstream(emulator) == {"create": 1}


# ---------------------------------------------------------------- 401


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(time_scale=TIME_SCALE, allowed_keys=[OTHER_KEY])]
)
@pytest.mark.parametrize(
    ("tool", "args", "route"),
    [
        ("get_video_status", {"video_id": UNKNOWN_ID}, "status"),
        ("wait_for_video", {"video_id": UNKNOWN_ID}, "status"),
        ("download_video", {"video_id": UNKNOWN_ID}, "status"),
        ("list_videos", {}, "list"),
        ("list_video_models", {}, "models"),
        ("delete_video", {"video_id": UNKNOWN_ID}, "delete"),
        ("create_video", SUNRISE, "models"),  # the catalogue read fails first: no POST at all
    ],
)
async def test_rejected_key_names_the_variable_and_never_shows_the_key(
    client: Client,
    emulator: EmulatorHandle,
    output_dir: Path,
    tool: str,
    args: dict[str, Any],
    route: str,
) -> None:
    """A rejected key is an auth error naming PHASEO_API_KEY, never the key, one request only."""
    result = await call(client, tool, args)
    message = failed(result, "auth")
    assert "PHASEO_API_KEY" in message and "401" in message
    assert TEST_KEY not in json.dumps(result.model_dump(mode="json"))
    assert dict(+emulator.counters) == {route: 1}
    assert list(output_dir.iterdir()) == []


# ---------------------------------------------------------------- 402 / 403 / 413 on create


@pytest.mark.parametrize(
    ("status", "fault", "kind", "says"),
    [
        (402, {}, "insufficient_funds", "Add credits"),
        (403, {}, "content_refused", "Do not retry"),
        (
            403,
            {
                "error": "authorization_error",
                "reason": "key_lacks_access",
                "description": "This key may not use video generation.",
            },
            "auth",
            "PHASEO_API_KEY",
        ),
        (413, {}, "invalid_input", "Shorten"),
    ],
    ids=["402", "403-guardrail", "403-access", "413"],
)
async def test_create_refusal_says_what_to_do_and_is_sent_once(
    client: Client,
    emulator: EmulatorHandle,
    status: int,
    fault: dict[str, Any],
    kind: str,
    says: str,
) -> None:
    """A refused create says what to do, is sent once, and does not block a later same request."""
    emulator.faults.add("create", "http", status=status, **fault)
    message = failed(await call(client, "create_video", SUNRISE), kind)
    assert says in message and str(status) in message
    assert upstream(emulator) == {"create": 1}
    # a refusal made no job, so it does not block the same request later (duplicate guard)
    again = await call(client, "create_video", SUNRISE)
    assert not again.is_error, text(again)
    assert upstream(emulator) == {"create": 2}


# ---------------------------------------------------------------- 404 / 409 on reads


@pytest.mark.parametrize("which", ["unknown", "other-key", "deleted"])
async def test_status_of_a_job_the_gateway_does_not_have_is_not_found(
    client: Client,
    emulator: EmulatorHandle,
    output_dir: Path,
    state_dir: Path,
    which: str,
) -> None:
    """Status of an unknown, deleted or other key's job is not_found."""
    video_id = UNKNOWN_ID if which == "unknown" else await _job(client, emulator)
    if which == "deleted":
        assert not (await call(client, "delete_video", {"video_id": video_id})).is_error
        emulator.counters.reset()
    if which == "other-key":
        other = make_settings(emulator.base_url, output_dir, state_dir, api_key=OTHER_KEY)
        async with Client(build_server(other)) as other_client:
            result = await call(other_client, "get_video_status", {"video_id": video_id})
    else:
        result = await call(client, "get_video_status", {"video_id": video_id})
    message = failed(result, "not_found")
    assert video_id in message and "404" in message
    assert "list_videos" in message
    assert data(result)["next_call"]["tool"] == "list_videos"
    assert dict(+emulator.counters) == {"status": 1}


async def test_not_ready_content_names_the_job_and_suggests_waiting(
    client: Client, emulator: EmulatorHandle, output_dir: Path
) -> None:
    """The status said completed but the content route answers 409: nothing is saved and
    the message names the job id exactly as given (ids are case-sensitive)."""
    video_id = await _job(client, emulator)
    emulator.faults.add("content", "http", status=409)
    result = await call(client, "download_video", {"video_id": video_id})
    message = failed(result, "not_ready")
    assert video_id in message and "409" in message
    assert data(result)["next_call"] == {
        "tool": "wait_for_video",
        "arguments": {"video_id": video_id},
    }
    assert dict(+emulator.counters) == {"status": 1, "content": 1}
    assert list(output_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("tool", "route"), [("list_video_models", "models"), ("create_video", "create")]
)
async def test_404_from_a_route_points_at_the_base_url(
    client: Client, emulator: EmulatorHandle, tool: str, route: str
) -> None:
    """No video id involved: a 404 means the address is wrong, not that a job is missing."""
    emulator.faults.add(route, "http", status=404, error="not_found_error", reason="no_route",
                        description="Route not found.")  # fmt: skip
    message = failed(
        await call(client, tool, SUNRISE if tool == "create_video" else {}), "not_found"
    )
    assert "PHASEO_BASE_URL" in message and "404" in message and "Route not found." in message
    assert "no the request" not in message
    assert emulator.counters[route] == 1


# ---------------------------------------------------------------- 429


@pytest.mark.parametrize("tool", ["get_video_status", "wait_for_video"])
async def test_status_429_beyond_the_retry_budget_is_a_clear_error(
    client: Client, emulator: EmulatorHandle, tool: str
) -> None:
    """A status 429 that outlasts the retries is rate_limited, saying how many and to wait."""
    video_id = await _job(client, emulator)
    emulator.faults.add("status", "http", status=429, retry_after=1, count=ATTEMPTS + 3)
    message = failed(await call(client, tool, {"video_id": video_id}), "rate_limited")
    assert "429" in message and f"{ATTEMPTS - 1} retries" in message
    assert "Wait" in message
    assert dict(+emulator.counters) == {"status": ATTEMPTS}


async def test_create_429_waits_for_retry_after_then_retries(
    emulator: EmulatorHandle,
    output_dir: Path,
    state_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Real waits, but no jitter (base 0): the only wait is the gateway's Retry-After of 3 s
    (0.03 s of real time at the test time scale), and the create goes out exactly twice."""
    policy = RetryPolicy(backoff_base_seconds=0.0, backoff_cap_seconds=0.0)
    settings = make_settings(emulator.base_url, output_dir, state_dir, retry=policy)
    emulator.faults.add("create", "http", status=429, retry_after=3)
    caplog.set_level(logging.INFO, logger="phaseo_mcp.gateway.client")
    async with Client(build_server(settings)) as client:
        result = await call(client, "create_video", SUNRISE)
    assert not result.is_error, text(result)
    assert upstream(emulator) == {"create": 2}
    assert len(emulator.jobs) == 1
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert retries == ["retrying POST /videos in 3.00s (attempt 1)"]


async def test_create_429_that_persists_is_rate_limited_without_a_job(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A create 429 that persists is rate_limited after the retries, and no job exists."""
    emulator.faults.add("create", "http", status=429, count=ATTEMPTS + 3)
    message = failed(await call(client, "create_video", SUNRISE), "rate_limited")
    assert f"{ATTEMPTS - 1} retries" in message
    assert upstream(emulator) == {"create": ATTEMPTS}
    assert emulator.jobs == {}


# ---------------------------------------------------------------- 5xx on create


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, "unavailable"), (502, "provider_error"), (503, "unavailable"), (504, "unavailable")],
)
async def test_create_5xx_is_not_retried(
    client: Client, emulator: EmulatorHandle, status: int, kind: str
) -> None:
    """One fault only: a retry would succeed and make a second POST, so both checks fail."""
    emulator.faults.add("create", "http", status=status)
    message = failed(await call(client, "create_video", SUNRISE), kind)
    assert str(status) in message
    assert upstream(emulator) == {"create": 1}
    assert emulator.jobs == {}


# ---------------------------------------------------------------- 502 provider diagnostics


async def test_provider_failure_diagnostics_are_summarised_not_dumped(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A provider failure's diagnostics are summarised in the message, not dumped."""
    _json_fault(
        emulator,
        "create",
        502,
        {
            "generation_id": "req_1",
            "status_code": 502,
            "error": "upstream_error",
            "error_type": "system",
            "error_origin": "upstream",
            "reason": "all_candidates_failed",
            "description": "No provider could run this request.",
            "attempt_count": 3,
            "failed_providers": ["google-vertex", "fal"],
            "upstream_error": {"code": "RAW-UPSTREAM-CODE", "message": "RAW-UPSTREAM-MESSAGE"},
            "failure_sample": [{"provider": "fal", "body": "RAW-SAMPLE-BODY"}],
            "routing_diagnostics": {"candidates": ["RAW-ROUTING"]},
            "provider_failure_diagnostics": {
                "category": "credentials_invalid_or_forbidden",
                "hint": "Reconnect the Vertex credentials in the dashboard.",
                "provider": "google-vertex",
                "raw": {"response": "RAW-DIAGNOSTICS-BODY"},
            },
        },
    )
    message = failed(await call(client, "create_video", SUNRISE), "provider_error")
    assert "No provider could run this request." in message
    assert "all_candidates_failed" in message
    for shown in (
        "google-vertex",
        "credentials_invalid_or_forbidden",
        "Reconnect the Vertex credentials in the dashboard.",
    ):
        assert shown in message
    for raw in ("RAW-UPSTREAM", "RAW-SAMPLE", "RAW-ROUTING", "RAW-DIAGNOSTICS", "{", "["):
        assert raw not in message
    assert upstream(emulator) == {"create": 1}


async def test_a_huge_provider_hint_is_cut_short(client: Client, emulator: EmulatorHandle) -> None:
    """A huge provider hint is shortened so the message stays small."""
    _json_fault(
        emulator,
        "create",
        502,
        {
            "error": "upstream_error",
            "description": "Provider failed.",
            "provider_failure_diagnostics": {"category": "server_error", "hint": "H" * 20_000},
        },
    )
    message = failed(await call(client, "create_video", SUNRISE), "provider_error")
    assert "server_error" in message and "HHHH" in message
    assert len(message) < 1500
    assert upstream(emulator) == {"create": 1}


# ---------------------------------------------------------------- older and non-JSON bodies


@pytest.mark.parametrize("fmt", [1, 2])
@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (400, "invalid_input", "invalid"),
        (401, "auth", "PHASEO_API_KEY"),
        (402, "insufficient_funds", "Add credits"),
        (403, "content_refused", "Do not retry"),
        (413, "invalid_input", "too large"),
        (502, "provider_error", "provider failed"),
    ],
)
async def test_older_error_body_formats_map_the_same_way(
    client: Client, emulator: EmulatorHandle, fmt: int, status: int, kind: str, says: str
) -> None:
    """Older error body formats map to the same failure kinds and messages."""
    emulator.faults.add("create", "http", status=status, format=fmt)
    message = failed(await call(client, "create_video", SUNRISE), kind)
    assert says in message
    assert str(status) in message or status == 400  # "rejected ... as invalid" says enough
    assert "None" not in message
    assert upstream(emulator) == {"create": 1}


@pytest.mark.parametrize("fmt", [1, 2])
@pytest.mark.parametrize("tool", ["get_video_status", "wait_for_video", "download_video"])
async def test_older_format_not_found_on_reads(
    client: Client, emulator: EmulatorHandle, output_dir: Path, fmt: int, tool: str
) -> None:
    """An older-format 404 on a read is not_found naming the id, with one request, no file."""
    emulator.faults.add("status", "http", status=404, format=fmt)
    result = await call(client, tool, {"video_id": UNKNOWN_ID})
    message = failed(result, "not_found")
    assert UNKNOWN_ID in message and "list_videos" in message
    assert dict(+emulator.counters) == {"status": 1}
    assert list(output_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (400, "invalid_input", "invalid"),
        (403, "auth", "PHASEO_API_KEY"),
        (502, "provider_error", "provider failed"),
        (503, "unavailable", "Try again"),
    ],
)
async def test_html_error_page_on_create_is_mapped_without_echoing_it(
    client: Client, emulator: EmulatorHandle, status: int, kind: str, says: str
) -> None:
    """An HTML error page on create maps to a kind without echoing the page."""
    emulator.faults.add("create", "http", status=status, body=HTML_PAGE)
    message = failed(await call(client, "create_video", SUNRISE), kind)
    assert says in message
    assert str(status) in message
    assert "<" not in message and "PROXY-PAGE-MARKER" not in message
    assert ":  " not in message and ": ." not in message, message  # no empty description
    assert upstream(emulator) == {"create": 1}


async def test_html_error_page_on_status_is_retried_then_reported(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An HTML error page on status is retried, then reported without its markup."""
    video_id = await _job(client, emulator)
    emulator.faults.add("status", "http", status=502, body=HTML_PAGE, count=ATTEMPTS + 2)
    message = failed(
        await call(client, "get_video_status", {"video_id": video_id}), "provider_error"
    )
    assert "<" not in message and "PROXY-PAGE-MARKER" not in message
    assert dict(+emulator.counters) == {"status": ATTEMPTS}


async def test_html_error_page_on_status_then_recovery(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A status read that gets HTML error pages then a good answer succeeds."""
    video_id = await _job(client, emulator)
    emulator.faults.add("status", "http", status=503, body=HTML_PAGE, count=2)
    result = await call(client, "get_video_status", {"video_id": video_id})
    assert not result.is_error, text(result)
    assert data(result)["status"] == "completed"
    assert dict(+emulator.counters) == {"status": 3}


# ---------------------------------------------------------------- broken connections


async def test_create_connection_drop_is_outcome_unknown_and_sent_once(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The request went out and the connection closed before any answer: never resent."""
    emulator.faults.add("create", "drop")
    result = await call(client, "create_video", SUNRISE)
    message = failed(result, "outcome_unknown")
    assert "list_videos" in message and "Do NOT" in message
    assert data(result)["next_call"] == {"tool": "list_videos", "arguments": {}}
    assert upstream(emulator) == {"create": 1}
    listed = await call(client, "list_videos", {})
    assert not listed.is_error, text(listed)
    rows = data(listed)["videos"]
    assert [r["outcome_unknown"] for r in rows] == [True]
    assert upstream(emulator) == {"create": 1, "list": 1}


@pytest.mark.parametrize("kind", ["drop_mid_body", "short_body", "drop"])
async def test_broken_status_answer_is_retried_and_succeeds(
    client: Client, emulator: EmulatorHandle, kind: str
) -> None:
    """A broken status answer once is retried and the read succeeds."""
    video_id = await _job(client, emulator)
    emulator.faults.add("status", kind)
    result = await call(client, "get_video_status", {"video_id": video_id})
    assert not result.is_error, text(result)
    assert data(result)["video_id"] == video_id and data(result)["status"] == "completed"
    assert dict(+emulator.counters) == {"status": 2}


@pytest.mark.parametrize("kind", ["drop_mid_body", "short_body"])
async def test_status_answer_that_keeps_breaking_is_a_clear_error(
    client: Client, emulator: EmulatorHandle, kind: str
) -> None:
    """A status answer that stays broken is unavailable after the retries, saying try again."""
    video_id = await _job(client, emulator)
    emulator.faults.add("status", kind, count=ATTEMPTS + 2)
    message = failed(await call(client, "get_video_status", {"video_id": video_id}), "unavailable")
    assert "did not answer" in message and "Try again" in message
    assert dict(+emulator.counters) == {"status": ATTEMPTS}
