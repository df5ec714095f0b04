"""Turning an accepted create request into an emulated job."""

from __future__ import annotations

import secrets
from typing import Any

from phaseo_mcp.emulator.catalog import MODELS_BY_ID, RESOLUTION_SIZES, ModelSpec
from phaseo_mcp.emulator.errors import ApiError
from phaseo_mcp.emulator.state import EmulatorState, Job, WebhookSetup, new_request_id, new_video_id
from phaseo_mcp.emulator.validation import LOOPBACK_HOSTS, normalise_events

DEFAULT_EVENTS_URL = ["job.completed", "job.failed", "job.cancelled", "job.expired"]  # R4
DEFAULT_EVENTS_ENDPOINT = ["job.status_changed", *DEFAULT_EVENTS_URL]  # R6


def _provider(spec: ModelSpec, routing: dict[str, Any]) -> str:
    candidates = list(spec.providers)
    if routing.get("only"):
        candidates = [p for p in candidates if p in routing["only"]]
    candidates = [p for p in candidates if p not in (routing.get("ignore") or [])]
    order = routing.get("order") or []
    candidates.sort(key=lambda p: order.index(p) if p in order else len(order))
    if not candidates:
        raise ApiError(
            400, "unsupported_model_or_endpoint", "no_eligible_providers",
            f"No provider of {spec.model} is allowed by the routing options.",
        )  # fmt: skip
    return candidates[0]


def _size(body: dict[str, Any]) -> str:
    if isinstance(body.get("size"), str):
        return str(body["size"])
    short = RESOLUTION_SIZES[body.get("resolution", "720p")][1]
    a, b = (int(x) for x in str(body.get("aspect_ratio", "16:9")).split(":"))
    if a >= b:
        return f"{round(short * a / b / 2) * 2}x{short}"
    return f"{short}x{round(short * b / a / 2) * 2}"


def _duration(body: dict[str, Any], spec: ModelSpec) -> int:
    if "duration" in body:
        return int(body["duration"])
    if "seconds" in body:
        return int(body["seconds"])
    allowed = spec.values("duration")
    return 8 if not allowed or 8 in allowed else int(allowed[0])


def _webhook(state: EmulatorState, hook: dict[str, Any] | None) -> WebhookSetup | None:
    if hook is None:
        return None
    events, _ = normalise_events(hook["events"], []) if "events" in hook else ([], [])
    if "endpoint_id" in hook:
        endpoint = state.config.webhook_endpoints[hook["endpoint_id"]]
        setup = WebhookSetup(
            url=None, secret=endpoint.secret, events=events or list(DEFAULT_EVENTS_ENDPOINT),
            endpoint_id=hook["endpoint_id"], deliver_to=endpoint.url,
        )  # fmt: skip
    else:
        setup = WebhookSetup(
            url=hook["url"], secret=hook.get("secret"), events=events or list(DEFAULT_EVENTS_URL),
            deliver_to=hook["url"],
        )  # fmt: skip
    from urllib.parse import urlsplit

    if setup.deliver_to is not None and urlsplit(setup.deliver_to).hostname not in LOOPBACK_HOSTS:
        setup.deliver_to = None  # the emulator delivers to loopback URLs only
    return setup


def create_job(state: EmulatorState, key: str, body: dict[str, Any]) -> Job:
    spec = MODELS_BY_ID[body["model"]]
    plan = state.take_plan()
    routing = body.get("provider") or body.get("routing") or {}
    provider = _provider(spec, routing)
    samples = int(body.get("sample_count", 1))
    duration = _duration(body, spec)
    audio_values = spec.values("generate_audio")
    audio = bool(body.get("generate_audio", bool(audio_values) and True in audio_values))
    native = {
        "openai": "video_" + secrets.token_hex(12),
        "google-vertex": "projects/emulator/operations/" + secrets.token_hex(8),
        "google-ai-studio": "models/veo/operations/" + secrets.token_hex(8),
    }.get(provider, secrets.token_hex(10))
    job = Job(
        id=new_video_id(),
        key=key,
        model=spec.model,
        provider=provider,
        created_at=state.clock.now(),
        plan=plan,
        vocabulary=plan.vocabulary or state.config.vocabulary,
        timestamps=plan.timestamps or state.config.timestamps,
        job_seconds=state.config.job_seconds,
        request_id=new_request_id(),
        body=body,
        sample_count=samples,
        output_access=(body.get("output") or {}).get("access", "both"),
        duration=duration,
        size=_size(body),
        audio=audio,
        price_usd=spec.price_usd(duration, samples),
        native_video_id=native,
        webhook=_webhook(state, body.get("webhook")),
    )
    return state.add_job(job)
