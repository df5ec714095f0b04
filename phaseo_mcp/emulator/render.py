"""The video object (phaseo-api.md §4) as the gateway of a job's vocabulary would answer it.

``r2`` jobs carry the April-2026 field set; ``r3`` jobs the R3–R6 one (``lifecycle_status``,
``request_id``, typed ``billing``, ``webhook`` state …). Failed jobs carry ``error``:

- provider failure: ``"upstream_error: provider <p> failed to render the video …"``, or as an
  object ``{"code": "provider_error", "type": "upstream_error", "message", "provider"}``;
- moderation refusal: ``"content_policy_violation: the provider's safety filter refused …"``,
  or ``{"code": "content_policy_violation", "type": "moderation", "message", "provider"}``;
- insufficient funds at settlement: ``"insufficient_funds: the workspace balance could not
  cover …"`` / ``{"code": "insufficient_funds", "type": "billing", …}`` (the 402 code of §12.3,
  reported on the job when the reservation made at create time cannot be settled, §4);
- expiry: ``"video_expired: …"`` / ``{"code": "video_expired", …}``;
- cancellation: ``"video_cancelled: …"`` / ``{"code": "video_cancelled", "type": "cancelled", …}``
  (the reason /content gives for a cancelled job, §6);
- an unexplained failure: ``error`` is ``null`` (§4: ``error`` is any|null; the gateway gave
  no diagnostics).
Objects are used for OpenAI-routed jobs (their OpenAI-compatible shape) or with
``JobPlan.error_as_object``. Failed, cancelled and expired jobs have ``billing.state`` void,
settled amounts ``"0.00"`` and ``usage.cost`` 0 (§4, VideoBillingSummary).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from phaseo_mcp.emulator.assets import SAMPLE_HEIGHT, SAMPLE_SECONDS, SAMPLE_WIDTH, Asset
from phaseo_mcp.emulator.signing import DEFAULT_TTL, sign_download_url
from phaseo_mcp.emulator.state import EmulatorState, Job
from phaseo_mcp.emulator.videos import VideoSpec, ensure_video

LIFECYCLE = {"queued": "pending", "processing": "running"}
WRONG_SHA256 = "0" * 63 + "1"
FAILED_PHASES = frozenset({"failed", "expired", "cancelled"})  # terminal without a video


def stamp(t: float | None, style: str) -> int | str | None:
    if t is None:
        return None
    if style == "iso":
        return (
            datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    return int(t)


def iso(t: float | None) -> str | None:
    return None if t is None else str(stamp(t, "iso"))


def job_assets(job: Job) -> list[Asset]:
    """The job's outputs; for a playable job this may run ffmpeg once (see ``videos.py``)."""
    if job.plan.playable:
        return [Asset(i, path=ensure_video(playable_spec(job, i))) for i in range(job.sample_count)]
    return [Asset(i, job.plan.asset_bytes) for i in range(job.sample_count)]


def playable_spec(job: Job, index: int) -> VideoSpec:
    width, height = (int(n) for n in job.size.split("x"))
    plan = job.plan
    return VideoSpec(float(job.duration), width, height, plan.asset_bytes, index, plan.codec)


def error_payload(job: Job, now: float) -> Any:
    phase = job.phase(now)
    if phase not in FAILED_PHASES or job.plan.outcome == "unexplained":
        return None
    as_object = job.plan.error_as_object
    if as_object is None:
        as_object = job.provider == "openai"
    if phase == "expired" or job.plan.outcome == "expired":
        code, kind = "video_expired", "expired"
        message = "The provider discarded the job before it finished (emulated expiry)."
    elif phase == "cancelled":
        code, kind = "video_cancelled", "cancelled"
        message = "The job was cancelled before it finished (emulated cancellation)."
    elif job.plan.outcome == "insufficient_funds":
        code, kind = "insufficient_funds", "billing"
        message = (
            "The workspace balance could not cover this video when it was settled; the "
            "reservation was released and nothing was charged (emulated insufficient funds)."
        )
    elif job.plan.outcome == "moderation":
        code, kind = "content_policy_violation", "moderation"
        message = (
            "The provider's safety filter refused this request: the prompt or inputs were "
            "flagged as violating its content policy (emulated moderation refusal)."
        )
    else:
        code, kind = "provider_error", "upstream_error"
        message = (
            f"Provider {job.provider} failed to render the video: upstream returned "
            "500 INTERNAL (emulated provider error)."
        )
    if as_object:
        return {"code": code, "type": kind, "message": message, "provider": job.provider}
    return f"{code if kind != 'upstream_error' else 'upstream_error'}: {message}"


def billing(job: Job, now: float) -> dict[str, Any]:
    phase = job.phase(now)
    cost = job.plan.cost_usd if job.plan.cost_usd is not None else job.price_usd
    nanos = int(round(cost * 1e9))
    settled = phase == "completed"
    void = phase in FAILED_PHASES
    return {
        "currency": "usd",
        "estimated_provider_cost": f"{cost * 0.8:.2f}",
        "estimated_user_cost": f"{cost:.2f}",
        "settled_provider_cost": f"{cost * 0.8:.2f}" if settled else "0.00" if void else None,
        "settled_user_cost": f"{cost:.2f}" if settled else "0.00" if void else None,
        "state": "settled" if settled else "void" if void else "estimated",
        "billable": not void,
        "total_nanos": nanos if settled else 0 if void else None,
        "estimated_nanos": nanos,
        "reserved_nanos": nanos,
        "reservation_id": "rsv_" + job.id[2:],
        "reservation_status": "captured" if settled else "released" if void else "held",
        "charge_reason": "video_generation" if settled else None,
        "charged": settled,
        "billed_at": iso(job.ends_at if settled or void else job.created_at),
    }


def _urls(state: EmulatorState, job: Job, index: int, now: float) -> dict[str, Any]:
    base = state.base_url
    out: dict[str, Any] = {}
    if job.output_access in ("bytes", "both"):
        suffix = f"?index={index}" if index else ""
        out["content_url"] = f"{base}/videos/{job.id}/content{suffix}"
    if job.output_access in ("signed_url", "both"):
        expires = int(now) + DEFAULT_TTL
        secret = state.config.signing_secret
        out["download_url"] = sign_download_url(secret, base, job.id, index, expires)
        out["expires_at"] = expires
    return out


def _asset_fields(job: Job, asset: Asset) -> dict[str, Any]:
    sha = WRONG_SHA256 if job.plan.wrong_sha256 else asset.sha256()
    if asset.synthetic_size is None and asset.path is None:
        width, height, seconds = SAMPLE_WIDTH, SAMPLE_HEIGHT, SAMPLE_SECONDS
    else:
        w, h = job.size.split("x")
        width, height, seconds = int(w), int(h), float(job.duration)
    return {"bytes": asset.size, "sha256": sha, "width": width, "height": height,
            "duration_seconds": seconds}  # fmt: skip


def video_object(state: EmulatorState, job: Job, now: float) -> dict[str, Any]:
    phase = job.phase(now)
    r3 = job.vocabulary == "r3"
    ts = job.timestamps
    completed = phase == "completed"
    terminal = job.is_terminal(now)
    raw = job.raw_status(now)
    obj: dict[str, Any] = {"id": job.id, "object": "video", "status": raw}
    if r3:
        obj["lifecycle_status"] = LIFECYCLE.get(phase, phase)
    obj["output_access"] = job.output_access
    obj["polling_url"] = f"{state.base_url}/videos/{job.id}"
    obj["poll_after_seconds"] = state.config.poll_after_seconds
    if r3:
        ws_base = state.base_url.replace("http", "ws", 1)
        obj["websocket_url"] = f"{ws_base}/async/video/{job.id}/ws"
        obj["cancel_url"] = None
    obj |= {"model": job.model, "provider": job.provider}
    if r3:
        obj |= {"request_id": job.request_id, "session_id": "ses_" + job.request_id[4:]}
    obj["generation_id"] = job.request_id
    if r3:
        obj["native_video_id"] = job.native_video_id
    obj["created_at"] = stamp(job.created_at, ts)
    obj["started_at"] = stamp(job.started_at if phase != "queued" else None, ts)
    obj["completed_at"] = stamp(job.ends_at if terminal else None, ts)
    if job.plan.progress:
        obj["progress"] = job.progress(now)
        obj["progress_source"] = "provider" if job.provider == "openai" else "estimated"
    else:
        obj["progress"] = 100 if completed else None if not r3 else 0
        obj["progress_source"] = "none"
    seconds: float | int = int(job.duration) if job.duration == int(job.duration) else job.duration
    obj["seconds"] = str(seconds) if job.plan.seconds_as_string else seconds
    obj |= {"size": job.size, "audio": job.audio}
    top = _urls(state, job, 0, now)
    if "content_url" in top:
        obj["content_url"] = top["content_url"]
    if job.output_access in ("signed_url", "both"):
        obj["download_url"] = top["download_url"] if completed else None
        obj["expires_at"] = top["expires_at"] if completed else None
    assets = job_assets(job)
    obj["asset"] = None
    obj["outputs"] = []
    if completed:
        obj["asset"] = {"id": "ast_" + job.id[2:], "mime_type": assets[0].mime,
                        **_asset_fields(job, assets[0])}  # fmt: skip
        inline = job.provider.startswith("google")
        obj["outputs"] = [
            {
                "index": a.index,
                "mime_type": a.mime,
                "bytes_available": inline,
                **_urls(state, job, a.index, now),
                **_asset_fields(job, a),
            }  # fmt: skip
            for a in assets
        ]
    cost = (
        (job.plan.cost_usd if job.plan.cost_usd is not None else job.price_usd)
        if (not terminal or completed)
        else 0.0
    )
    obj["usage"] = {"cost": cost, "is_byok": False, "cost_usd": cost}
    obj["billing"] = billing(job, now)
    obj["error"] = error_payload(job, now)
    if r3 and job.webhook is not None:
        obj |= webhook_state(job)
    if state.config.extra_fields:
        obj["kind"] = "video"
        obj["updated_at"] = stamp(min(now, job.ends_at) if terminal else now, ts)
        obj["x_emulator"] = {"phase": phase, "plan_outcome": job.plan.outcome}
    return obj


def webhook_state(job: Job) -> dict[str, Any]:
    hook = job.webhook
    assert hook is not None
    attempts = job.webhook_attempts
    last = attempts[-1] if attempts else None
    pending = [a for a in attempts if a["status"] == "scheduled_retry" and a.get("_open")]
    delivered = [a for a in attempts if a["status"] == "delivered"]
    failures = [a for a in attempts if a["status"] != "delivered"]
    next_retry = min((a["next_retry_at"] for a in pending), default=None)
    public_attempts = [{k: v for k, v in a.items() if not k.startswith("_")} for a in attempts]
    state: dict[str, Any] = {
        "webhook": {
            "url": hook.url,
            "events": list(hook.events),
            "has_secret": hook.secret is not None,
            "delivery": {
                "total_attempts": len(attempts),
                "delivered_events": len(job.webhook_delivered_keys),
                "delivered_event_types": sorted(job.webhook_delivered_keys),
                "pending_retries": len(pending),
                "next_retry_at": next_retry,
                "last_attempt_at": last["tried_at"] if last else None,
                "last_attempt_status": last["status"] if last else None,
                "last_response_status": last["response_status"] if last else None,
                "last_delivered_at": delivered[-1]["delivered_at"] if delivered else None,
                "last_failure_at": failures[-1]["tried_at"] if failures else None,
                "last_error_message": failures[-1]["error_message"] if failures else None,
            },
            "attempts": public_attempts[-20:],
        },
        "next_webhook_retry_at": next_retry,
        "last_webhook_dispatched_at": last["tried_at"] if last else None,
    }
    if hook.endpoint_id is not None:
        state["webhook"]["endpoint_id"] = hook.endpoint_id
    return state
