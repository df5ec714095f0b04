"""Validate answers and requests against the gateway's own OpenAPI cuts (with errata applied).

    validate_response("r6", "GET", "/v1/videos/G-1", 200, headers, body_bytes)
    validate_httpx_response("r2", response)           # an httpx.Response from the emulator
    validate_create_request(body_dict, "r6")          # e.g. each of emu.received["create"]

``"r2"`` is ``videos-2026-04-01.yaml`` (April cut), ``"r6"`` is ``videos-2026-08-22.yaml``
(August cut), both in ``shared/phaseo-openapi/``. Failures raise ``AssertionError`` listing the
schema errors. Errata live in ``tests/openapi_errata.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from openapi_errata import apply_errata

Cut = Literal["r2", "r6"]
SPEC_FILES = {"r2": "videos-2026-04-01.yaml", "r6": "videos-2026-08-22.yaml"}
HOST = "https://api.phaseo.app"


def spec_dir() -> Path:
    """The gateway's OpenAPI cuts, vendored in tests/openapi/ (copies of
    shared/phaseo-openapi/, so the suite runs on a clone alone); PHASEO_OPENAPI_DIR overrides."""
    env = os.environ.get("PHASEO_OPENAPI_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "openapi"


@cache
def raw_spec(cut: Cut) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((spec_dir() / SPEC_FILES[cut]).read_text())
    return data


@cache
def openapi(cut: Cut, errata: bool = True) -> OpenAPI:
    spec = raw_spec(cut)
    return OpenAPI.from_dict(apply_errata(spec, cut) if errata else spec)


def _short(text: object, limit: int = 240) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _errors(exc: BaseException) -> str:
    lines = [f"{type(exc).__name__}: {_short(exc)}"]
    cause: BaseException | None = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 5:
        lines.append(f"  caused by {type(cause).__name__}: {_short(cause)}")
        for sub in getattr(cause, "schema_errors", []) or []:
            lines.append(f"    - {list(sub.absolute_path)}: {_short(sub.message)}")
        cause = cause.__cause__ or cause.__context__
        seen += 1
    for sub in getattr(exc, "schema_errors", []) or []:
        lines.append(f"    - {list(sub.absolute_path)}: {_short(sub.message)}")
    return "\n".join(lines)


def _split(path_or_url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(path_or_url)
    path = parts.path
    if not path.startswith("/v1/"):
        raise ValueError(f"expected a /v1/... path, got {path_or_url!r}")
    return path, dict(parse_qsl(parts.query))


def validate_response(
    cut: Cut,
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    errata: bool = True,
) -> None:
    """Raise AssertionError unless the answer matches the spec cut (errata applied)."""
    path_only, query = _split(path)
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    request = MockRequest(HOST, method.lower(), path_only, args=query)
    response = MockResponse(body, status_code=status, headers=dict(headers),
                            content_type=content_type)  # fmt: skip
    try:
        openapi(cut, errata).validate_response(request, response)
    except Exception as exc:
        preview = body[:600].decode("utf-8", "replace")
        raise AssertionError(
            f"{cut} {method} {path} -> {status}\n{_errors(exc)}\nbody: {preview}"
        ) from exc


def validate_httpx_response(cut: Cut, response: httpx.Response, *, errata: bool = True) -> None:
    request = response.request
    validate_response(
        cut, request.method, str(request.url), response.status_code,
        {k.lower(): v for k, v in response.headers.items()}, response.content, errata=errata,
    )  # fmt: skip


def validate_create_request(body: Any, cut: Cut = "r6") -> None:
    """Raise AssertionError unless ``body`` is a valid VideoGenerationRequest of the cut."""
    request = MockRequest(HOST, "post", "/v1/videos", data=json.dumps(body).encode())
    try:
        openapi(cut).validate_request(request)
    except Exception as exc:
        raise AssertionError(f"{cut} create request invalid\n{_errors(exc)}\nbody: {body}") from exc
