"""The gateway's create-request rules (phaseo-api.md §3), as strict as its code.

Issues are collected zod-style (``{"code", "path", "message"}``) into ``details`` of one
400 ``validation_error``; the first issue's message becomes the description.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from phaseo_mcp.emulator.catalog import MODELS_BY_ID
from phaseo_mcp.emulator.config import WebhookEndpoint
from phaseo_mcp.emulator.errors import ApiError

Issue = dict[str, Any]

DOCUMENTED_FIELDS = {
    "model", "prompt", "duration", "size", "resolution", "aspect_ratio", "seed", "sample_count",
    "negative_prompt", "generate_audio", "enhance_prompt", "compression_quality",
    "person_generation", "resize_mode", "input_references", "provider_params", "output",
    "webhook", "provider",
}  # fmt: skip
# Accepted by the code without being documented (§3.1), plus the R6 additions.
UNDOCUMENTED_FIELDS = {
    "echo_upstream_request", "debug", "beta", "routing", "seconds", "input_reference",
    "input_video_duration", "input_audio_duration",
}  # fmt: skip
RESOLUTIONS = {"480p", "720p", "1080p", "1K", "2K", "4K"}
OPENAI_SECONDS = {"4", "8", "12", "16", "20"}
ROLES = {"first_frame", "last_frame", "reference", "source", "mask"}
ACCESS = {"bytes", "signed_url", "both"}
PHASES = {"created", "progress", "completed", "failed", "cancelled", "expired", "status_changed"}
PROVIDER_PARAMS_FORBIDDEN = {
    re.sub(r"[_-]", "", k)
    for k in (
        "request", "model", "prompt", "input", "content", "duration", "duration_seconds",
        "input_video_duration", "input_audio_duration", "seconds", "size", "resolution",
        "aspect_ratio", "ratio", "sample_count", "number_of_videos", "callback_url",
    )
}  # fmt: skip
ROUTING_TYPES: dict[str, str] = {
    "order": "strings", "only": "strings", "ignore": "strings", "include_alpha": "bool",
    "allow_fallbacks": "bool?", "require_parameters": "bool?",
    "require_zero_data_retention": "bool?",
    "zdr": "bool?", "enforce_distillable_text": "bool?", "required_execution_region": "str?",
    "required_data_region": "str?", "data_collection": "collect", "quantizations": "strings?",
    "sort": "sort", "max_price": "object", "preferred_min_throughput": "num_or_map",
    "preferred_max_latency": "num_or_map",
}  # fmt: skip
MAX_PROMPT = 32000
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _issue(path: list[str | int], message: str, code: str = "invalid_type") -> Issue:
    return {"code": code, "path": path, "message": message}


def _strict(obj: dict[str, Any], allowed: set[str], path: list[str | int]) -> list[Issue]:
    extra = sorted(set(obj) - allowed)
    return [_issue([*path, k], f"Unrecognized key: {k}", "unrecognized_keys") for k in extra]


def _https(url: Any, path: list[str | int]) -> list[Issue]:
    if not isinstance(url, str):
        return [_issue(path, "Expected string")]
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        return [_issue(path, "URL must use https", "invalid_string")]
    return []


def _check_reference(ref: Any, path: list[str | int]) -> list[Issue]:
    if not isinstance(ref, dict):
        return [_issue(path, "Expected object")]
    kind = ref.get("type")
    issues: list[Issue] = []
    if kind == "image_url":
        issues += _strict(ref, {"type", "role", "reference_type", "image_url"}, path)
        slot = "image_url"
    elif kind in ("video_url", "audio_url"):
        issues += _strict(ref, {"type", "role", "reference_type", "media_url"}, path)
        slot = "media_url"
    else:
        return [_issue([*path, "type"], "type must be image_url, video_url or audio_url", "enum")]
    if "role" in ref and ref["role"] not in ROLES:
        issues.append(_issue([*path, "role"], f"role must be one of {sorted(ROLES)}", "enum"))
    if "reference_type" in ref and not isinstance(ref["reference_type"], str):
        issues.append(_issue([*path, "reference_type"], "Expected string"))
    inner = ref.get(slot)
    if not isinstance(inner, dict):
        return [*issues, _issue([*path, slot], f"{slot} is required", "required")]
    issues += _strict(inner, {"url"}, [*path, slot])
    return issues + _https(inner.get("url"), [*path, slot, "url"])


def _forbidden_provider_params(obj: Any, path: list[str | int]) -> list[Issue]:
    issues: list[Issue] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if re.sub(r"[_-]", "", str(k)).lower() in PROVIDER_PARAMS_FORBIDDEN:
                msg = f"provider_params may not set validated field {k!r}"
                issues.append(_issue([*path, k], msg, "forbidden_key"))
            issues += _forbidden_provider_params(v, [*path, k])
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            issues += _forbidden_provider_params(v, [*path, i])
    return issues


def normalise_events(events: Any, path: list[str | int]) -> tuple[list[str], list[Issue]]:
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        return [], [_issue(path, "events must be an array of strings")]
    valid: list[str] = []
    for e in events:
        prefix, _, phase = e.rpartition(".")
        if prefix in ("", "job", "video") and phase in PHASES:
            valid.append(f"{prefix or 'job'}.{phase}")
    if not valid:
        return [], [_issue(path, "at least one event must be valid for video jobs", "custom")]
    return valid, []


def _check_webhook(
    hook: Any, endpoints: dict[str, WebhookEndpoint], path: list[str | int]
) -> list[Issue]:
    if not isinstance(hook, dict):
        return [_issue(path, "Expected object")]
    issues: list[Issue] = []
    if "endpoint_id" in hook:  # R6 shape
        issues += _strict(hook, {"endpoint_id", "events"}, path)
        if hook["endpoint_id"] not in endpoints:
            msg = "webhook endpoint not found or inactive"
            issues.append(_issue([*path, "endpoint_id"], msg, "custom"))
    else:  # R2–R5 shape
        issues += _strict(hook, {"url", "secret", "events"}, path)
        url = hook.get("url")
        if not isinstance(url, str):
            issues.append(_issue([*path, "url"], "url is required", "required"))
        else:
            parts = urlsplit(url)
            local = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
            if not local and (parts.scheme != "https" or not parts.hostname):
                issues.append(_issue([*path, "url"], "webhook url must be https", "invalid_string"))
        if "secret" in hook and not isinstance(hook["secret"], str):
            issues.append(_issue([*path, "secret"], "Expected string"))
    if "events" in hook:
        issues += normalise_events(hook["events"], [*path, "events"])[1]
    return issues


def _check_routing(obj: Any, path: list[str | int]) -> list[Issue]:
    if not isinstance(obj, dict):
        return [_issue(path, "Expected object")]
    issues = _strict(obj, set(ROUTING_TYPES), path)
    checks: dict[str, Callable[[Any], bool]] = {
        "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "strings?": lambda v: v is None or checks["strings"](v),
        "bool": lambda v: isinstance(v, bool),
        "bool?": lambda v: v is None or isinstance(v, bool),
        "str?": lambda v: v is None or isinstance(v, str),
        "collect": lambda v: v is None or v in ("allow", "deny"),
        "sort": lambda v: isinstance(v, str | dict),
        "object": lambda v: isinstance(v, dict),
        "num_or_map": lambda v: _is_num(v) or isinstance(v, dict),
    }
    for k, v in obj.items():
        if k in ROUTING_TYPES and not checks[ROUTING_TYPES[k]](v):
            issues.append(_issue([*path, k], f"invalid value for {k}"))
    return issues


def _check_fields(body: dict[str, Any], endpoints: dict[str, WebhookEndpoint]) -> list[Issue]:
    issues: list[Issue] = []
    ints = {"duration": (1, 120), "sample_count": (1, 4), "compression_quality": (0, 100)}
    for name, (lo, hi) in ints.items():
        if name in body and (not _is_int(body[name]) or not lo <= body[name] <= hi):
            issues.append(_issue([name], f"{name} must be an integer {lo}-{hi}", "too_big"))
    for name in ("seed",):
        if name in body and not _is_int(body[name]):
            issues.append(_issue([name], "Expected integer"))
    for name in ("generate_audio", "enhance_prompt", "echo_upstream_request"):
        if name in body and not isinstance(body[name], bool):
            issues.append(_issue([name], "Expected boolean"))
    strs = ("negative_prompt", "person_generation", "resize_mode", "aspect_ratio", "size")
    for name in strs:
        if name in body and not isinstance(body[name], str):
            issues.append(_issue([name], "Expected string"))
    if isinstance(body.get("size"), str) and not re.fullmatch(r"\d{2,5}x\d{2,5}", body["size"]):
        issues.append(_issue(["size"], "size must look like 1280x720", "invalid_string"))
    if "size" in body and ("resolution" in body or "aspect_ratio" in body):
        msg = "size cannot be combined with resolution or aspect_ratio"
        issues.append(_issue(["size"], msg, "custom"))
    if "resolution" in body and body["resolution"] not in RESOLUTIONS:
        issues.append(_issue(["resolution"], f"resolution must be one of {sorted(RESOLUTIONS)}"))
    ratio = body.get("aspect_ratio")
    if isinstance(ratio, str) and not re.fullmatch(r"\d{1,2}:\d{1,2}", ratio):
        issues.append(_issue(["aspect_ratio"], "aspect_ratio must look like 16:9"))
    if "seconds" in body and body["seconds"] not in OPENAI_SECONDS:
        issues.append(_issue(["seconds"], f"seconds must be one of {sorted(OPENAI_SECONDS)}"))
    for name, lo, hi in (("input_video_duration", 0, 3600), ("input_audio_duration", 2, 20)):
        v: Any = body.get(name)
        ok = _is_num(v) and lo <= float(v) <= hi and not (lo == 0 and v == 0)
        if name in body and not ok:
            issues.append(_issue([name], f"{name} must be a number in range", "too_big"))
    for name in ("debug", "beta", "provider_params"):
        if name in body and not isinstance(body[name], dict):
            issues.append(_issue([name], "Expected object"))
    issues += _forbidden_provider_params(body.get("provider_params"), ["provider_params"])
    refs = body.get("input_references")
    if "input_references" in body:
        if not isinstance(refs, list):
            issues.append(_issue(["input_references"], "Expected array"))
        else:
            for i, ref in enumerate(refs):
                issues += _check_reference(ref, ["input_references", i])
            audio = [r for r in refs if isinstance(r, dict) and r.get("type") == "audio_url"]
            if len(audio) > 1:
                issues.append(_issue(["input_references"], "at most one audio_url", "too_big"))
            if audio and "input_audio_duration" not in body:
                msg = "audio_url references need input_audio_duration"
                issues.append(_issue(["input_audio_duration"], msg, "required"))
    ref = body.get("input_reference")
    if "input_reference" in body:
        if not isinstance(ref, dict) or len(set(ref) & {"file_id", "image_url"}) != 1:
            msg = "input_reference needs exactly one of file_id or image_url"
            issues.append(_issue(["input_reference"], msg, "custom"))
        else:
            issues += _strict(ref, {"file_id", "image_url"}, ["input_reference"])
    output = body.get("output")
    if "output" in body:
        if not isinstance(output, dict):
            issues.append(_issue(["output"], "Expected object"))
        else:
            issues += _strict(output, {"access"}, ["output"])
            if "access" in output and output["access"] not in ACCESS:
                issues.append(_issue(["output", "access"], f"access must be one of {ACCESS}"))
    if "webhook" in body:
        issues += _check_webhook(body["webhook"], endpoints, ["webhook"])
    for name in ("provider", "routing"):
        if name in body:
            issues += _check_routing(body[name], [name])
    return issues


def validate_create(body: Any, endpoints: dict[str, WebhookEndpoint]) -> dict[str, Any]:
    """Return the body when the gateway would accept it; raise ``ApiError(400)`` otherwise."""
    if not isinstance(body, dict):
        raise ApiError(400, "validation_error", "invalid_body", "Body must be a JSON object.")
    issues = _strict(body, DOCUMENTED_FIELDS | UNDOCUMENTED_FIELDS, [])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        issues.append(_issue(["model"], "model is required", "required"))
    elif model not in MODELS_BY_ID:
        issues.append(_issue(["model"], f"Unknown video model: {model}", "unsupported_model"))
    prompt = body.get("prompt")
    refs = body.get("input_references")
    has_image = isinstance(refs, list) and any(
        isinstance(r, dict) and r.get("type") == "image_url" for r in refs
    )
    if prompt is None and not has_image:
        issues.append(_issue(["prompt"], "prompt is required", "required"))
    elif prompt is not None and not isinstance(prompt, str):
        issues.append(_issue(["prompt"], "Expected string"))
    elif isinstance(prompt, str) and not prompt.strip() and not has_image:
        issues.append(_issue(["prompt"], "prompt must not be empty", "too_small"))
    elif isinstance(prompt, str) and len(prompt) > MAX_PROMPT:
        issues.append(_issue(["prompt"], f"prompt exceeds {MAX_PROMPT} characters", "too_big"))
    issues += _check_fields(body, endpoints)
    if issues:
        reason = "unknown_model" if issues[0]["code"] == "unsupported_model" else "invalid_request"
        raise ApiError(400, "validation_error", reason, issues[0]["message"], details=issues)
    return body
