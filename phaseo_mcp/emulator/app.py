"""Starlette routes of the documented video API (phaseo-api.md §2–§10), aliases included."""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from phaseo_mcp.emulator.catalog import list_models
from phaseo_mcp.emulator.errors import ApiError, error_response
from phaseo_mcp.emulator.jobs import create_job
from phaseo_mcp.emulator.render import job_assets, video_object
from phaseo_mcp.emulator.signing import (
    SignatureError,
    clamp_ttl,
    sign_download_url,
    verify_download,
)
from phaseo_mcp.emulator.state import EmulatorState, Job, new_request_id
from phaseo_mcp.emulator.validation import validate_create

STATUS_ALIASES = {
    "pending": "queued", "queued": "queued", "in_progress": "processing",
    "processing": "processing", "running": "processing", "completed": "completed",
    "complete": "completed", "succeeded": "completed", "success": "completed",
    "failed": "failed", "error": "failed", "cancelled": "cancelled", "canceled": "cancelled",
    "expired": "expired",
}  # fmt: skip
# 409 not_ready reasons of /content (§6).
NOT_READY_REASONS = {"expired": "video_expired", "cancelled": "video_cancelled"}
LIST_CAP = 100  # the R6 code caps limit at 100 although the spec says 200 (§8)


def build_app(state: EmulatorState) -> Starlette:
    cfg = state.config

    def auth(request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorised", "missing_api_key", "Missing API key.")
        if not state.key_allowed(token):
            raise ApiError(401, "unauthorised", "invalid_api_key", "Invalid API key.")
        return token

    def owned(request: Request, key: str) -> Job:
        job = state.owned_job(request.path_params["video_id"], key)
        if job is None:
            raise ApiError(404, "not_found", "video_not_found_or_not_owned", "Video not found.")
        if job.deleted_at is not None:
            raise ApiError(404, "not_found", "video_deleted", "This video was deleted.")
        return job

    async def with_digests(job: Job) -> dict[str, Any]:
        now = state.clock.now()
        if job.phase(now) == "completed":
            for asset in await anyio.to_thread.run_sync(job_assets, job):
                if not asset.sha256_is_cached():
                    await anyio.to_thread.run_sync(asset.sha256)
        return video_object(state, job, now)

    async def json_body(request: Request, required: bool) -> Any:
        raw = await request.body()
        if not raw.strip() and not required:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_json", "invalid_json", "Body is not valid JSON.") from None

    async def create(request: Request) -> Response:
        key = auth(request)
        body = validate_create(await json_body(request, True), cfg.webhook_endpoints)
        job = create_job(state, key, body)
        if job.plan.playable:  # encode while the job "renders", not when it is first read
            threading.Thread(target=job_assets, args=(job,), daemon=True).start()
        return JSONResponse(await with_digests(job), status_code=202)

    async def status(request: Request) -> Response:
        return JSONResponse(await with_digests(owned(request, auth(request))))

    async def content(request: Request) -> Response:
        q = request.query_params
        signed = "download_sig" in q
        disposition = None
        if signed:
            try:
                grant = verify_download(
                    cfg.signing_secret, q.get("download_token", ""), q["download_sig"],
                    q.get("expires_at", ""), request.path_params["video_id"], state.clock.now(),
                )  # fmt: skip
            except SignatureError as exc:
                status_code = 400 if exc.reason == "signed_download_video_mismatch" else 403
                raise ApiError(status_code, "forbidden", exc.reason, "Bad signed URL.") from None
            found = state.jobs.get(grant.video_id)
            if found is None:
                raise ApiError(404, "not_found", "video_not_found_or_not_owned")
            job = found
            if job.deleted_at is not None:
                raise ApiError(404, "not_found", "video_deleted", "This video was deleted.")
            if "index" in q and q["index"] != str(grant.index):
                raise ApiError(400, "forbidden", "signed_download_video_mismatch")
            index, disposition = grant.index, grant.disposition
        else:
            job = owned(request, auth(request))
            if job.output_access == "signed_url":
                raise ApiError(
                    400, "not_supported", "video_output_access_signed_url_only",
                    "This job's output.access is signed_url: use download_url.",
                )  # fmt: skip
            raw_index = q.get("index", "0")
            if not raw_index.isdigit():
                raise ApiError(400, "validation_error", "invalid_index", "index must be >= 0")
            index = int(raw_index)
        phase = job.phase(state.clock.now())
        if phase in ("queued", "processing", "expired", "cancelled"):
            reason = NOT_READY_REASONS.get(phase, "video_not_ready")
            raise ApiError(409, "not_ready", reason, "The video is not ready.", status=phase)
        if phase == "failed":
            raise ApiError(502, "upstream_error", "video_generation_failed", "Generation failed.")
        if index >= job.sample_count:
            raise ApiError(400, "validation_error", "invalid_index", "No output at that index.")
        asset = (await anyio.to_thread.run_sync(job_assets, job))[index]
        if asset.size > cfg.content_cap_bytes:
            raise ApiError(502, "upstream_error", "video_content_too_large", "Content too large.")
        headers = {
            "content-length": str(asset.size),
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
        }
        if disposition is not None:
            ext = ".webm" if asset.mime == "video/webm" else ".mp4"
            headers["content-disposition"] = f'{disposition}; filename="{job.id}{ext}"'
        return StreamingResponse(asset.achunks(), media_type=asset.mime, headers=headers)

    async def download_url(request: Request) -> Response:
        job = owned(request, auth(request))
        body = await json_body(request, False)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_video_download_request", "invalid_body")
        index = body.get("index", 0)
        ttl = body.get("ttl_seconds", body.get("ttlSeconds"))
        disp = body.get("disposition", body.get("content_disposition"))
        disp = disp or body.get("contentDisposition", "attachment")
        ok = isinstance(index, int) and not isinstance(index, bool) and index >= 0
        ok = ok and (
            ttl is None or (isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 1)
        )
        if not ok or disp not in ("attachment", "inline"):
            raise ApiError(
                400,
                "invalid_video_download_request",
                "invalid_video_download_request",
                "index >= 0, ttl_seconds >= 1, disposition attachment|inline",
            )
        now = state.clock.now()
        if job.phase(now) != "completed":
            raise ApiError(
                400,
                "validation_error",
                "video_download_requires_completed_status",
                "The video is not completed.",
                status=job.raw_status(now),
            )
        if index >= job.sample_count:
            raise ApiError(400, "invalid_video_download_request", "invalid_index")
        expires = int(now) + clamp_ttl(ttl)
        url = sign_download_url(cfg.signing_secret, state.base_url, job.id, index, expires, disp)
        return JSONResponse({"download_url": url, "expires_at": expires})

    async def list_videos(request: Request) -> Response:
        key = auth(request)
        q = request.query_params
        raw_limit = q.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            raise ApiError(400, "validation_error", "invalid_limit", "limit must be 1-200")
        limit = min(int(raw_limit), LIST_CAP)
        wanted = {s.strip().lower() for v in q.getlist("status") for s in v.split(",") if s.strip()}
        unknown = wanted - set(STATUS_ALIASES)
        if unknown:
            raise ApiError(400, "validation_error", "invalid_status_filter", f"{sorted(unknown)}")
        phases = {STATUS_ALIASES[s] for s in wanted}
        now = state.clock.now()
        jobs = [j for j in state.jobs.values() if j.key == key and j.deleted_at is None]
        if phases:
            jobs = [j for j in jobs if STATUS_ALIASES.get(j.raw_status(now).lower()) in phases]
        if q.get("order", "desc") != "asc":
            jobs.reverse()
        after = q.get("after")
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        page = jobs[:limit]
        data = [await with_digests(j) for j in page]
        return JSONResponse({
            "object": "list", "data": data,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(jobs) > limit,
        })  # fmt: skip

    async def models(request: Request) -> Response:
        auth(request)
        params = [p for v in request.query_params.getlist("params") for p in v.split(",")]
        return JSONResponse({"object": "list", "data": list_models(params, cfg.extra_fields)})

    async def delete(request: Request) -> Response:
        job = owned(request, auth(request))
        now = state.clock.now()
        if not job.is_terminal(now):
            raise ApiError(
                400,
                "validation_error",
                "video_delete_requires_terminal_status",
                "Only terminal jobs can be deleted.",
                status=job.raw_status(now),
            )
        job.deleted_at = now
        return JSONResponse({"id": job.id, "object": "video.deleted", "deleted": True})

    async def cancel(request: Request) -> Response:
        auth(request)
        raise ApiError(501, "not_implemented_yet", "video_cancellation_disabled",
                       "Video cancellation is disabled for every provider.")  # fmt: skip

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(
            exc.status, exc.error, exc.reason, exc.description, request_id=new_request_id(),
            details=exc.details, fmt=cfg.error_format, **exc.extra,
        )  # fmt: skip

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        error = "not_found" if exc.status_code == 404 else "method_not_allowed"
        return error_response(exc.status_code, error, error, str(exc.detail),
                              request_id=new_request_id(), fmt=cfg.error_format)  # fmt: skip

    routes: list[Route] = []
    for prefix in ("/v1/videos", "/v1/video/generations"):
        routes += [
            Route(prefix, create, methods=["POST"]),
            Route(prefix, list_videos, methods=["GET"]),
            Route(prefix + "/models", models, methods=["GET"]),
            Route(prefix + "/{video_id}", status, methods=["GET"]),
            Route(prefix + "/{video_id}", delete, methods=["DELETE"]),
            Route(prefix + "/{video_id}/content", content, methods=["GET"]),
            Route(prefix + "/{video_id}/download_url", download_url, methods=["POST"]),
            Route(prefix + "/{video_id}/cancel", cancel, methods=["POST"]),
        ]
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
