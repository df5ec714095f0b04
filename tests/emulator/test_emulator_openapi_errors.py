"""The emulator's error answers validate against the gateway's OpenAPI cuts too.

Every status it can answer, for real (401, 400, 404, 409, 413, 403 and 501 cancel) or by fault
(402, 403, 429, 500, 501 video_api_temporarily_disabled, 502, 503), on every route, in each
error body format of phaseo-api.md §12.1. R2 runs are checked against the April cut, R3+ runs
against the August cut. The only spec change they rely on is the ``undocumented-error-statuses``
erratum (a ``default`` ErrorResponse); nothing else is loosened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, running_emulator
from phaseo_mcp.emulator.middleware import MAX_BODY

from emu_helpers import CREATE, OTHER, client, create, finish
from openapi_check import raw_spec, validate_httpx_response
from openapi_errata import ERRATA

pytestmark = pytest.mark.anyio

FORMAT_KEYS: dict[int, set[str]] = {
    1: {"generation_id", "status_code", "error", "reason"},
    2: {"generation_id", "status_code", "error", "error_type", "description"},
    3: {
        "generation_id", "status_code", "error", "error_type", "description", "error_origin",
        "reason", "request_id", "message",
    },
}  # fmt: skip
FAULT_STATUSES = (402, 403, 429, 500, 501, 502, 503)
RETRY_AFTER: tuple[Any, ...] = (3, "date", None)
# (vocabulary, spec cut): R2-shaped answers against the April cut, R3+ against the August cut
RUNS = [("r2", "r2"), ("r3", "r6")]
Send = Callable[[], Awaitable[httpx.Response]]


def _routes(c: httpx.AsyncClient, vid: str, *, alias: bool, r6: bool) -> dict[str, Send]:
    base = "/video/generations" if alias else "/videos"
    routes: dict[str, Send] = {
        "create": lambda: c.post(base, json=CREATE),
        "status": lambda: c.get(f"{base}/{vid}"),
        "list": lambda: c.get(base),
        "models": lambda: c.get(f"{base}/models"),
        "content": lambda: c.get(f"{base}/{vid}/content"),
        "delete": lambda: c.delete(f"{base}/{vid}"),
        "cancel": lambda: c.post(f"{base}/{vid}/cancel"),
    }
    if r6:  # the April cut has no download_url route (see the test below)
        routes["download_url"] = lambda: c.post(f"{base}/{vid}/download_url")
    return routes


async def _real_errors(
    emu: EmulatorHandle, c: httpx.AsyncClient, vid: str, r6: bool
) -> list[tuple[int, httpx.Response]]:
    """Errors the emulator answers without any fault."""
    too_big = b'{"model":"google/veo-3.1-lite","prompt":"' + b"x" * (MAX_BODY + 10) + b'"}'
    out = [
        (409, await c.get(f"/videos/{vid}/content")),
        (404, await c.get("/videos/G-missing")),
        (404, await c.get("/video/generations/G-missing/content")),
        (400, await c.post("/videos", json={"model": "google/veo-3.1-lite"})),  # with details
        (400, await c.post("/videos", content=b"{not json", headers={"content-type": "x"})),
        (400, await c.delete(f"/videos/{vid}")),  # not terminal yet
        (400, await c.get("/videos", params={"limit": 0})),
        (413, await c.post("/videos", content=too_big)),
        (501, await c.post(f"/videos/{vid}/cancel")),
        (501, await c.post(f"/video/generations/{vid}/cancel")),
    ]
    async with client(emu, key=None) as anon:
        out.append((401, await anon.get("/videos/models")))
    async with client(emu, key="not-a-documented-key") as bad:
        out.append((401, await bad.post("/videos", json=CREATE)))
    async with client(emu, key=OTHER) as other:
        out.append((404, await other.get(f"/videos/{vid}")))
    if r6:
        out.append((400, await c.post(f"/videos/{vid}/download_url")))  # not completed
        out.append((404, await c.post("/videos/G-missing/download_url")))
    return out


async def _fault_errors(
    emu: EmulatorHandle, c: httpx.AsyncClient, vid: str, r6: bool
) -> list[tuple[int, httpx.Response]]:
    """One http fault per (status, route), alternating the /video/generations aliases."""
    out = []
    plain, alias = _routes(c, vid, alias=False, r6=r6), _routes(c, vid, alias=True, r6=r6)
    for i, status in enumerate(FAULT_STATUSES):
        for j, route in enumerate(plain):
            send = (alias if (i + j) % 2 else plain)[route]
            params: dict[str, Any] = {"status": status}
            if status == 429 and RETRY_AFTER[j % 3] is not None:
                params["retry_after"] = RETRY_AFTER[j % 3]
            emu.faults.add(route, "http", **params)
            out.append((status, await send()))
    assert len(emu.faults) == 0  # every fault was consumed by the request meant for it
    return out


async def _signed_errors(
    emu: EmulatorHandle, c: httpx.AsyncClient
) -> list[tuple[int, httpx.Response]]:
    """Signed /content URLs: a bad signature (403) and another job's URL (400)."""
    a, b = await create(c), await create(c)
    await finish(emu)
    url = (await c.get(f"/videos/{a['id']}")).json()["download_url"]
    async with httpx.AsyncClient(timeout=10) as anon:  # signed URLs need no key
        forged = await anon.get(url.replace("download_sig=", "download_sig=00"))
        swapped = await anon.get(url.replace(a["id"], b["id"]))
    return [(403, forged), (400, swapped)]


@pytest.mark.parametrize("error_format", [1, 2, 3])
@pytest.mark.parametrize(("vocabulary", "cut"), RUNS)
async def test_error_answers_validate_in_every_format(
    vocabulary: str, cut: str, error_format: int
) -> None:
    """Every error status on every route, real and faulted, validates against its cut."""
    config = EmulatorConfig(time_scale=0, vocabulary=vocabulary, error_format=error_format)  # type: ignore[arg-type]
    r6 = cut == "r6"
    async with running_emulator(config) as emu, client(emu) as c:
        vid = (await create(c))["id"]
        answers = await _real_errors(emu, c, vid, r6)
        answers += await _fault_errors(emu, c, vid, r6)
        answers += await _signed_errors(emu, c)
    expected = {400, 401, 402, 403, 404, 409, 413, 429, 500, 501, 502, 503}
    assert {status for status, _ in answers} == expected
    for status, response in answers:
        assert response.status_code == status, (response.request.url, response.text)
        body = response.json()
        assert body["status_code"] == status
        keys = FORMAT_KEYS[error_format]
        assert keys <= set(body), (error_format, body)
        if error_format < 3:  # formats 1 and 2 carry nothing else (details only on 400s)
            assert set(body) - keys <= ({"details"} if error_format == 2 else set()), body
        validate_httpx_response(cut, response)  # type: ignore[arg-type]
    disabled = [r.json() for s, r in answers if s == 501]
    assert all("not_implemented_yet" in (b["error"], b.get("reason")) for b in disabled)
    if error_format == 3:
        reasons = {b["reason"] for b in disabled}
        assert reasons == {"video_api_temporarily_disabled", "video_cancellation_disabled"}
    retry = [r.headers.get("retry-after") for s, r in answers if s == 429]
    assert "3" in retry and None in retry and any(v and "GMT" in v for v in retry)


@pytest.mark.parametrize(("vocabulary", "cut"), RUNS)
async def test_a_faults_own_format_overrides_the_runs(vocabulary: str, cut: str) -> None:
    """format=1/2/3 on one fault wins over EmulatorConfig.error_format, and validates."""
    config = EmulatorConfig(time_scale=0, vocabulary=vocabulary, error_format=3)  # type: ignore[arg-type]
    async with running_emulator(config) as emu, client(emu) as c:
        for fmt in (1, 2, 3):
            emu.faults.add("list", "http", status=503, format=fmt)
        emu.faults.add("list", "http", status=400, format=2, details=[{"path": ["limit"]}])
        answers = [await c.get("/videos") for _ in range(4)]
    for fmt, response in zip((1, 2, 3, 2), answers, strict=True):
        body = response.json()
        assert FORMAT_KEYS[fmt] <= set(body)
        assert ("error_origin" in body) == (fmt == 3)
        validate_httpx_response(cut, response)  # type: ignore[arg-type]
    assert answers[3].json()["details"] == [{"path": ["limit"]}]


PROVIDER_502_EXTRA: dict[str, Any] = {
    "attempt_count": 2,
    "failed_providers": ["google-ai-studio", "google-vertex"],
    "failed_statuses": [500, 503],
    "upstream_error": {
        "code": "INTERNAL",
        "message": "Internal error encountered.",
        "description": None,
        "param": None,
    },
    "failure_sample": [{"provider": "google-ai-studio", "type": "server_error", "status": 500}],
    "provider_failure_diagnostics": {
        "category": "server_error",
        "hint": "The provider is failing; retry later or pick another model.",
        "provider": "google-ai-studio",
    },
}


@pytest.mark.parametrize(("vocabulary", "cut"), RUNS)
async def test_http_fault_carries_extra_body_fields(vocabulary: str, cut: str) -> None:
    """A 502 fault can carry the §12.1 diagnostics; the August cut's typed schemas accept
    them, from Python and over the admin route; format 2 has no room for them."""
    config = EmulatorConfig(time_scale=0, vocabulary=vocabulary)  # type: ignore[arg-type]
    async with running_emulator(config) as emu, client(emu) as c:
        vid = (await create(c))["id"]
        emu.faults.add("status", "http", status=502, extra=PROVIDER_502_EXTRA)
        direct = await c.get(f"/videos/{vid}")
        async with httpx.AsyncClient(base_url=emu.root_url, timeout=10) as admin:
            diagnostics = {"provider_failure_diagnostics": {"category": "rate_limited"}}
            spec = {"route": "create", "kind": "http", "status": 502, "extra": diagnostics}
            assert (await admin.post("/_emulator/faults", json=spec)).status_code == 201
            bad = {"route": "list", "kind": "http", "status": 502, "extra": ["not", "a", "dict"]}
            assert (await admin.post("/_emulator/faults", json=bad)).status_code == 400
        over_admin = await c.post("/videos", json=CREATE)
        emu.faults.add("list", "http", status=502, format=2, extra=PROVIDER_502_EXTRA)
        format_two = await c.get("/videos")
    body = direct.json()
    assert direct.status_code == 502 and body["error"] == "upstream_error"
    assert {k: body[k] for k in PROVIDER_502_EXTRA} == PROVIDER_502_EXTRA
    assert body["error_origin"] == "upstream" and body["reason"] == "all_candidates_failed"
    admin_body = over_admin.json()
    assert admin_body["provider_failure_diagnostics"] == {"category": "rate_limited"}
    assert "provider_failure_diagnostics" not in format_two.json()
    for response in (direct, over_admin, format_two):
        validate_httpx_response(cut, response)  # type: ignore[arg-type]


async def test_error_as_an_object_validates() -> None:
    """§12 open question 6: ``error`` may be an object; the spec's oneOf admits it."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        error = {"code": "rate_limit_exceeded", "message": "Slow down."}
        emu.faults.add("models", "http", status=429, extra={"error": error})
        response = await c.get("/videos/models")
    assert response.status_code == 429 and response.json()["error"] == error
    validate_httpx_response("r6", response)
    validate_httpx_response("r2", response)


async def test_the_checker_rejects_bad_error_answers() -> None:
    """Not vacuous: a proxy's HTML page, an error_origin outside the enum and a diagnostics
    category outside the enum all fail, and a 402 needs the error-status erratum."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        emu.faults.add("status", "http", status=502, body="<html>Bad Gateway</html>")
        emu.faults.add("status", "http", status=502, extra={"error_origin": "martian"})
        bad_category = {"provider_failure_diagnostics": {"category": "cosmic_rays"}}
        emu.faults.add("status", "http", status=502, extra=bad_category)
        emu.faults.add("create", "http", status=402)
        html, origin, category = [await c.get("/videos/G-x") for _ in range(3)]
        funds = await c.post("/videos", json=CREATE)
    for response in (html, origin, category):
        with pytest.raises(AssertionError):
            validate_httpx_response("r6", response)
    with pytest.raises(AssertionError):
        validate_httpx_response("r2", html)
    validate_httpx_response("r2", origin)  # the April ErrorResponse does not type error_origin
    validate_httpx_response("r6", funds)
    with pytest.raises(AssertionError):
        validate_httpx_response("r6", funds, errata=False)
    assert any(e.id == "undocumented-error-statuses" and "§12" in e.section for e in ERRATA)


async def test_the_april_cut_has_no_download_url_route() -> None:
    """POST /download_url entered the spec in R3 (phaseo-api.md revision table), so the April
    cut cannot validate it; its answers are checked against the August cut only."""
    april = raw_spec("r2")["paths"]
    august = raw_spec("r6")["paths"]
    for prefix in ("/videos", "/video/generations"):
        assert f"{prefix}/{{video_id}}/download_url" not in april
        assert f"{prefix}/{{video_id}}/download_url" in august
    config = EmulatorConfig(time_scale=0, vocabulary="r2")
    async with running_emulator(config) as emu, client(emu) as c:
        vid = (await create(c))["id"]
        await finish(emu)
        minted = await c.post(f"/videos/{vid}/download_url", json={"ttl_seconds": 120})
    assert minted.status_code == 200
    validate_httpx_response("r6", minted)
    with pytest.raises(AssertionError, match="(?i)path"):
        validate_httpx_response("r2", minted)
