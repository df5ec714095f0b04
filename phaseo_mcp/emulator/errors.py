"""The gateway's JSON error bodies in the three formats of phaseo-api.md §12.1."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

ERROR_TYPE_BY_STATUS = {400: "user", 401: "user", 402: "user", 403: "user", 404: "user"}
ORIGIN_BY_STATUS = {502: "upstream", 500: "gateway", 501: "gateway", 503: "gateway"}

# Defaults for a bare status, as the gateway's code emits them (§12.3, §14).
DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("validation_error", "invalid_request", "The request is invalid."),
    401: ("unauthorised", "invalid_api_key", "Missing or invalid API key."),
    402: ("insufficient_funds", "insufficient_funds", "Insufficient balance for this model."),
    403: ("guardrail_blocked", "guardrail_blocked", "Blocked by a workspace guardrail."),
    404: ("not_found", "video_not_found_or_not_owned", "Video not found."),
    409: ("not_ready", "video_not_ready", "The video is not ready."),
    413: ("payload_too_large", "payload_too_large", "The request body is too large."),
    429: ("key_limit_exceeded", "key_limit_exceeded", "Rate limit exceeded for this key."),
    500: ("gateway_error", "internal_error", "The gateway failed unexpectedly."),
    501: (
        "not_implemented_yet",
        "video_api_temporarily_disabled",
        "The video API is temporarily disabled.",
    ),
    502: ("upstream_error", "all_candidates_failed", "The upstream provider failed."),
    503: ("service_unavailable", "service_unavailable", "The gateway is temporarily unavailable."),
}


def error_body(
    http_status: int,
    error: str | None = None,
    reason: str | None = None,
    description: str | None = None,
    *,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
    fmt: int = 3,
    **extra: Any,
) -> dict[str, Any]:
    d_error, d_reason, d_desc = DEFAULTS.get(http_status, ("error", "error", "Request failed."))
    error = error or d_error
    reason = reason or d_reason
    description = description or d_desc
    if fmt == 1:
        return {
            "generation_id": request_id,
            "status_code": http_status,
            "error": description,
            "reason": error,
        }
    body: dict[str, Any] = {
        "generation_id": request_id,
        "status_code": http_status,
        "error": error,
        "error_type": ERROR_TYPE_BY_STATUS.get(
            http_status, "user" if http_status < 500 else "system"
        ),
        "description": description,
    }
    if details is not None:
        body["details"] = details
    if fmt >= 3:
        body["error_origin"] = ORIGIN_BY_STATUS.get(
            http_status, "user" if http_status < 500 else "gateway"
        )
        body["reason"] = reason
        body["request_id"] = request_id
        body["message"] = description
        body.update(extra)
    return body


def error_response(
    http_status: int,
    error: str | None = None,
    reason: str | None = None,
    description: str | None = None,
    *,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
    fmt: int = 3,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = error_body(
        http_status,
        error,
        reason,
        description,
        request_id=request_id,
        details=details,
        fmt=fmt,
        **extra,
    )
    return JSONResponse(body, status_code=http_status, headers=headers)


class ApiError(Exception):
    """Raised by handlers and validation; the app turns it into ``error_response``."""

    def __init__(
        self,
        http_status: int,
        error: str | None = None,
        reason: str | None = None,
        description: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description or error or str(http_status))
        self.status = http_status
        self.error = error
        self.reason = reason
        self.description = description
        self.details = details
        self.extra = extra
