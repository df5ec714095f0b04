"""Known defects of the gateway's OpenAPI cuts, and places where its code departs from them.

Every entry names the section of ``shared/phaseo-api.md`` that justifies it and patches the
spec (never the answer being checked) before validation. Anything not listed here must
validate as the spec stands. ``apply_errata(spec_dict, "r2"|"r6")`` returns a patched copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]
CONTENT_PATHS = ("/videos/{video_id}/content", "/video/generations/{video_id}/content")
TIMESTAMP_FIELDS = ("started_at", "completed_at")


@dataclass(frozen=True)
class Erratum:
    id: str
    section: str  # where phaseo-api.md documents the real behaviour
    why: str
    specs: tuple[str, ...]
    patch: Callable[[Spec], None]


def _response_schema(spec: Spec) -> Spec:
    props: Spec = spec["components"]["schemas"]["VideoGenerationResponse"]["properties"]
    return props


def _nullable_one_of(spec: Spec) -> None:
    props = _response_schema(spec)
    for name in TIMESTAMP_FIELDS:
        field = props[name]
        first, *rest = field["oneOf"]
        field["oneOf"] = [dict(first, nullable=True), *rest]  # null must match exactly one


def _content_video_mp4(spec: Spec) -> None:
    for path in CONTENT_PATHS:
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        content["video/mp4"] = copy.deepcopy(content["application/octet-stream"])


def _seconds_string(spec: Spec) -> None:
    _response_schema(spec)["seconds"] = {"oneOf": [{"type": "number"}, {"type": "string"}]}


def _in_progress(spec: Spec) -> None:
    status = _response_schema(spec)["status"]
    if "in_progress" not in status["enum"]:
        status["enum"].append("in_progress")


def _error_responses(spec: Spec) -> None:
    error = {
        "description": "Gateway error (phaseo-api.md §12)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method in ("get", "post", "delete", "put", "patch"):
                operation["responses"].setdefault("default", copy.deepcopy(error))


ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "nullable-beside-oneOf",
        "§4 (started_at, completed_at: int|string|null) and §12 open question 12",
        "`nullable: true` next to `oneOf` does not admit null: every oneOf branch rejects it, "
        "yet a job that has not started or finished reports null.",
        ("r2", "r6"),
        _nullable_one_of,
    ),
    Erratum(
        "content-served-as-video-mp4",
        "§6 ('In practice the code passes the provider's content type (normally video/mp4)') "
        "and open question 8",
        "The spec declares /content as application/octet-stream; the gateway streams video/mp4.",
        ("r2", "r6"),
        _content_video_mp4,
    ),
    Erratum(
        "seconds-as-string",
        "§4 (seconds: 'R6 code returns it as a string for OpenAI-routed jobs') and open "
        "question 12",
        'OpenAI-routed jobs report `seconds` as a string such as "8".',
        ("r2", "r6"),
        _seconds_string,
    ),
    Erratum(
        "in_progress-status",
        "§4.1 ('R6 code: for provider openai, a processing job is reported as in_progress') "
        "and open question 1",
        "The R3+ enum lacks in_progress, which the R6 code still emits for OpenAI jobs.",
        ("r6",),
        _in_progress,
    ),
    Erratum(
        "undocumented-error-statuses",
        "§5–§10 (each route's errors: 401, 404 video_deleted, 409 not_ready, 400 …) and §12",
        "The spec lists only success statuses (and 501 for cancel); every route answers "
        "errors with the ErrorResponse body, so a `default` ErrorResponse is added.",
        ("r2", "r6"),
        _error_responses,
    ),
)


def apply_errata(spec: Spec, cut: str) -> Spec:
    patched = copy.deepcopy(spec)
    for erratum in ERRATA:
        if cut in erratum.specs:
            erratum.patch(patched)
    return patched
