"""Turn a gateway error answer into a ``GatewayError`` whose message names the next step."""

from __future__ import annotations

from typing import Any

from phaseo_mcp.errors import FailureKind, GatewayError

MAX_DIAGNOSTIC_CHARS = 200

KEY_HELP = (
    "Set PHASEO_API_KEY (or --api-key-file) to a valid key of the form phaseo_v1_sk_… "
    "from the Phaseo dashboard, then restart the MCP server."
)
# A --multi-user server uses each caller's own key: the fix is the caller's header.
HEADER_KEY_HELP = (
    "Send a valid key of the form phaseo_v1_sk_… from the Phaseo dashboard in the "
    "X-Phaseo-Api-Key header of your requests to this MCP server."
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("message") or value.get("code") or value)
    return str(value)


def _clause(description: str) -> str:
    """``": <description>."`` as the end of a sentence, or just ``"."`` when there is none
    (an HTML or empty error body)."""
    description = description.strip()
    if not description:
        return "."
    return f": {description}" + ("" if description.endswith((".", "!", "?")) else ".")


def _diagnostics(diag: Any) -> str:
    """provider, category and hint of ``provider_failure_diagnostics``: short strings only."""
    if not isinstance(diag, dict):
        return ""
    parts = [diag[k] for k in ("provider", "category", "hint") if isinstance(diag.get(k), str)]
    return " ".join(p.strip()[:MAX_DIAGNOSTIC_CHARS] for p in parts if p.strip())


def _field_details(details: Any) -> str:
    if not isinstance(details, list):
        return ""
    parts = []
    for item in details[:8]:
        if isinstance(item, dict):
            where = item.get("path") or item.get("loc") or item.get("field") or item.get("param")
            if isinstance(where, list):
                where = ".".join(str(p) for p in where)
            msg = item.get("message") or item.get("msg") or item.get("description") or ""
            parts.append(f"{where}: {msg}" if where else str(msg))
        else:
            parts.append(str(item))
    return "; ".join(p for p in parts if p)[:800]


def gateway_error(
    status: int,
    body: Any,
    *,
    video_id: str | None = None,
    retries: int = 0,
    key_help: str = KEY_HELP,
) -> GatewayError:
    """Map one error answer to a message, a failure kind and, where useful, the next call.
    ``key_help``: how the caller fixes its key (an env var, or a header in multi-user mode)."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    error = _text(data.get("error"))
    reason = _text(data.get("reason"))
    description = _text(data.get("description")) or _text(data.get("message")) or error or ""
    description = description[:500]
    details = _field_details(data.get("details"))
    code = " / ".join(x for x in (error, reason) if x) or f"HTTP {status}"
    kind: FailureKind = "other"
    next_call: dict[str, Any] | None = None
    subject = f"video {video_id}" if video_id else "the request"

    if status == 400:
        kind = (
            "not_ready" if reason == "video_download_requires_completed_status" else "invalid_input"
        )
        message = f"The gateway rejected {subject} as invalid ({code}){_clause(description)}"
        if details:
            message += f" Details: {details}."
        message += (
            " Fix the arguments and call again; no job was created."
            if video_id is None
            else " Nothing was changed."
        )
    elif status == 401:
        kind = "auth"
        message = f"The gateway rejected the API key (401 {code}). {key_help}"
    elif status == 402:
        kind = "insufficient_funds"
        message = (
            "The Phaseo account has insufficient funds for this video (402). Add credits in "
            "the dashboard, then call create_video again; no job was created."
        )
    elif status == 403 and ("guardrail" in code or "guardrail" in description.lower()):
        kind = "content_refused"
        message = (
            f"The gateway's content guardrail refused this request (403 {code}). Do not retry "
            "the same prompt or references: change the content or ask the user."
        )
    elif status == 403:
        kind = "auth"
        message = (
            f"The API key is not allowed to do this (403 {code}){_clause(description)} {key_help}"
        )
    elif status == 404 and video_id is None:
        kind = "not_found"
        message = (
            f"The gateway answered 404 ({code}){_clause(description)} Check that "
            "PHASEO_BASE_URL points at the Phaseo gateway's /v1 API."
        )
    elif status == 404:
        kind = "not_found"
        message = (
            f"The gateway has no {subject} for this key (404 {code}): the id is unknown, "
            "belongs to another key, or the job was deleted. Call list_videos to see your jobs."
        )
        next_call = {"tool": "list_videos", "arguments": {}}
    elif status == 409:
        kind = "not_ready"
        # Not str.capitalize(): it would lower-case the (case-sensitive) video id.
        message = (
            f"{subject[:1].upper()}{subject[1:]} is not ready yet (409 {code}). "
            "Wait for it to finish."
        )
        if video_id:
            next_call = {"tool": "wait_for_video", "arguments": {"video_id": video_id}}
    elif status == 413:
        kind = "invalid_input"
        message = f"The request is too large for the gateway (413 {code}). Shorten it."
    elif status == 429:
        kind = "rate_limited"
        message = (
            f"The gateway is rate limiting this key (429 {code}) and {retries} retries did not "
            "get through. Wait a minute, then try again."
        )
    elif status == 501:
        kind = "unavailable"
        message = (
            f"The gateway's video API is not enabled for this workspace (501 {code}). "
            "Retrying will not help: ask Phaseo support to enable video generation."
        )
    elif status == 502:
        kind = "provider_error"
        hint = _diagnostics(data.get("provider_failure_diagnostics"))
        message = f"The video provider failed (502 {code}){_clause(description)}"
        if hint:
            message += f" Provider diagnostics: {hint}."
        message += " Try again later or pick another model."
    else:
        kind = "unavailable"
        message = (
            f"The gateway failed with HTTP {status} ({code}) after {retries} retries. "
            "Try again in a minute."
        )
    return GatewayError(message, failure_kind=kind, next_call=next_call)
