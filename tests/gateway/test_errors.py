"""gateway/errors.py: each error answer becomes a message that names the next step."""

from __future__ import annotations

from typing import Any

import pytest

from phaseo_mcp.gateway.errors import HEADER_KEY_HELP, KEY_HELP, MAX_DIAGNOSTIC_CHARS, gateway_error


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, {"error": "invalid_request"}, "invalid_input"),
        (400, {"reason": "video_download_requires_completed_status"}, "not_ready"),
        (401, {}, "auth"),
        (402, {}, "insufficient_funds"),
        (403, {"error": "guardrail_blocked"}, "content_refused"),
        (403, {"description": "Blocked by the content Guardrail"}, "content_refused"),
        (403, {"error": "forbidden"}, "auth"),
        (404, {}, "not_found"),
        (409, {}, "not_ready"),
        (413, {}, "invalid_input"),
        (429, {}, "rate_limited"),
        (501, {}, "unavailable"),
        (502, {}, "provider_error"),
        (503, {}, "unavailable"),
        (500, "<html>oops</html>", "unavailable"),
    ],
)
def test_each_status_maps_to_its_failure_kind(status: int, body: Any, kind: str) -> None:
    """Every status the gateway documents maps to one failure kind, with a message."""
    error = gateway_error(status, body)
    assert error.failure_kind == kind and error.message


def test_a_rejected_key_says_how_to_fix_it_for_this_kind_of_server() -> None:
    """A 401 names the key setting, or the caller's header on a multi-user server."""
    assert KEY_HELP in gateway_error(401, {}).message
    header = gateway_error(401, {}, key_help=HEADER_KEY_HELP).message
    assert HEADER_KEY_HELP in header and "PHASEO_API_KEY" not in header


def test_a_404_on_a_job_points_to_list_videos_and_on_a_route_to_the_base_url() -> None:
    """404 for a video id suggests list_videos; without one it says to check the base URL."""
    job = gateway_error(404, {"error": "not_found"}, video_id="G-1")
    assert "video G-1" in job.message and job.next_call == {"tool": "list_videos", "arguments": {}}
    route = gateway_error(404, {"error": "not_found"})
    assert "PHASEO_BASE_URL" in route.message and route.next_call is None


def test_not_ready_suggests_waiting_and_keeps_the_ids_case() -> None:
    """A 409 for a job suggests wait_for_video with that id, its case untouched."""
    error = gateway_error(409, {}, video_id="vid_AbC")
    assert error.message.startswith("Video vid_AbC is not ready")
    assert error.next_call == {"tool": "wait_for_video", "arguments": {"video_id": "vid_AbC"}}


def test_rate_limiting_says_how_many_retries_were_made() -> None:
    """A 429 says how many retries did not get through."""
    assert "4 retries" in gateway_error(429, {}, retries=4).message


def test_field_details_of_a_400_are_listed_short() -> None:
    """A 400's field details are named (path: message), at most 800 characters of them."""
    details = [{"loc": ["body", "duration"], "msg": "too long"}] + [
        {"path": f"f{i}", "message": "x" * 300} for i in range(8)
    ]
    message = gateway_error(400, {"error": "invalid_request", "details": details}).message
    assert "body.duration: too long" in message
    assert len(message) < 1300


def test_provider_diagnostics_are_kept_short() -> None:
    """Provider diagnostics appear in a 502's message, each cut to its limit."""
    body = {"provider_failure_diagnostics": {"provider": "p1", "hint": "H" * 5000}}
    message = gateway_error(502, body).message
    assert "p1" in message and "H" * MAX_DIAGNOSTIC_CHARS in message
    assert "H" * (MAX_DIAGNOSTIC_CHARS + 1) not in message


@pytest.mark.parametrize("body", [None, "", "<html><body>Bad gateway</body></html>", [1, 2]])
def test_a_body_that_is_not_an_error_object_still_reads_well(body: Any) -> None:
    """An HTML, empty or list body gives a sentence with no empty description and no markup."""
    message = gateway_error(502, body).message
    assert "HTTP 502" in message and "<" not in message
    assert ":  " not in message and ": ." not in message and "None" not in message
