"""Which gateway job did a create whose answer never came make?

A job is a *candidate* for an outcome-unknown (or intent) row when every comparable field of
:data:`COMPARISONS` agrees and it was created within a short window around the moment the
request was sent. A field the gateway did not return (or the request did not set) is not
comparable: neither a match nor a mismatch. Model and creation time are required. A row is
linked only when it has exactly one candidate and that job is a candidate of no other row;
such a link is a *probable* match, never presented as certain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from phaseo_mcp.gateway.job import to_unix
from phaseo_mcp.gateway.responses import VideoObject

# The gateway's clock may run a little behind ours; a job appears after its request was sent.
MATCH_BEFORE_SECONDS = 120
MATCH_AFTER_SECONDS = 600
SHORT_SIDES = {"480p": 480, "720p": 720, "1080p": 1080, "1K": 1080, "2K": 1440, "4K": 2160}
RATIO_TOLERANCE = 0.02

Verdict = Literal["match", "mismatch", "not_comparable"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dimensions(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, str):
        return None
    width, sep, height = value.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        return None
    return int(width), int(height)


def _request_duration(request: Mapping[str, Any]) -> Any:
    return request.get("duration", request.get("seconds"))


def _same_number(wanted: Any, got: Any) -> Verdict:
    a, b = _number(wanted), _number(got)
    if a is None or b is None:
        return "not_comparable"
    return "match" if abs(a - b) < 0.5 else "mismatch"


def _request_size(request: Mapping[str, Any]) -> Any:
    if request.get("size") is not None:
        return {"size": request["size"]}
    if request.get("resolution") is not None:
        return {"resolution": request["resolution"], "aspect_ratio": request.get("aspect_ratio")}
    return None


def _same_size(wanted: Any, got: Any) -> Verdict:
    dims = _dimensions(got)
    if not isinstance(wanted, dict) or dims is None:
        return "not_comparable"
    if "size" in wanted:
        asked = _dimensions(wanted["size"])
        if asked is None:
            return "not_comparable"
        return "match" if asked == dims else "mismatch"
    short = SHORT_SIDES.get(str(wanted.get("resolution")))
    if short is None:
        return "not_comparable"
    if min(dims) != short:
        return "mismatch"
    ratio = _dimensions(str(wanted.get("aspect_ratio") or "").replace(":", "x"))
    if ratio is None or dims[1] == 0 or ratio[1] == 0:
        return "match"
    close = abs(dims[0] / dims[1] - ratio[0] / ratio[1]) <= RATIO_TOLERANCE * ratio[0] / ratio[1]
    return "match" if close else "mismatch"


def _same_bool(wanted: Any, got: Any) -> Verdict:
    if not isinstance(wanted, bool) or not isinstance(got, bool):
        return "not_comparable"
    return "match" if wanted == got else "mismatch"


def _request_routing(request: Mapping[str, Any]) -> Any:
    routing = request.get("provider") or request.get("routing")
    if not isinstance(routing, dict) or not (routing.get("only") or routing.get("ignore")):
        return None
    return routing


def _allowed_provider(wanted: Any, got: Any) -> Verdict:
    if not isinstance(wanted, dict) or not isinstance(got, str) or not got:
        return "not_comparable"
    if wanted.get("only") and got not in wanted["only"]:
        return "mismatch"
    return "mismatch" if got in (wanted.get("ignore") or []) else "match"


def _same_text(wanted: Any, got: Any) -> Verdict:
    if not isinstance(wanted, str) or not isinstance(got, str) or not got:
        return "not_comparable"
    return "match" if wanted == got else "mismatch"


def _extra(obj: VideoObject, name: str) -> Any:
    return (
        getattr(obj, name, None)
        if name in type(obj).model_fields
        else ((obj.model_extra or {}).get(name))
    )


@dataclass(frozen=True)
class Comparison:
    """One row of the table: the request's value, the gateway's value, and how they agree."""

    name: str
    wanted: Callable[[Mapping[str, Any]], Any]
    got: Callable[[VideoObject], Any]
    agree: Callable[[Any, Any], Verdict]
    required: bool = False  # not comparable counts as a mismatch


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("model", lambda r: r.get("model"), lambda j: j.model, _same_text, required=True),
    Comparison("duration", _request_duration, lambda j: j.seconds, _same_number),
    Comparison("size", _request_size, lambda j: j.size, _same_size),
    Comparison(
        "audio", lambda r: r.get("generate_audio"), lambda j: _extra(j, "audio"), _same_bool
    ),
    Comparison("provider", _request_routing, lambda j: j.provider, _allowed_provider),
)


@dataclass(frozen=True)
class MatchResult:
    candidate: bool
    matched: tuple[str, ...] = ()  # the fields that agreed, creation time included
    why_not: str | None = None

    def reason(self) -> str:
        return "same " + ", ".join(self.matched)


def compare(request: Mapping[str, Any], sent_at: float, job: VideoObject) -> MatchResult:
    """Is ``job`` possibly the one a create of ``request``, sent at ``sent_at``, made?"""
    matched: list[str] = []
    for row in COMPARISONS:
        verdict = row.agree(row.wanted(request), row.got(job))
        if verdict == "mismatch" or (verdict == "not_comparable" and row.required):
            return MatchResult(False, why_not=f"{row.name} differs or is missing")
        if verdict == "match":
            matched.append(row.name)
    created = to_unix(job.created_at)
    if created is None:
        return MatchResult(False, why_not="the gateway gave no creation time")
    if not sent_at - MATCH_BEFORE_SECONDS <= created <= sent_at + MATCH_AFTER_SECONDS:
        return MatchResult(False, why_not="created outside the window around the request")
    offset = created - sent_at
    matched.append(f"creation time ({offset:+.0f}s after the request was sent)")
    return MatchResult(True, tuple(matched))


@dataclass
class Reconciliation:
    """Per unresolved row: its candidates; the links to make (row id -> job id, reason)."""

    candidates: dict[int, list[str]] = field(default_factory=dict)
    links: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Unresolved:
    row_id: int
    request: Mapping[str, Any]
    sent_at: float


def reconcile(rows: Sequence[Unresolved], jobs: Sequence[VideoObject]) -> Reconciliation:
    """Candidates for every row; a link only for a one-to-one match."""
    out = Reconciliation()
    results: dict[tuple[int, str], MatchResult] = {}
    for row in rows:
        for job in jobs:
            result = compare(row.request, row.sent_at, job)
            if result.candidate:
                results[(row.row_id, job.id)] = result
                out.candidates.setdefault(row.row_id, []).append(job.id)
    claimants: dict[str, int] = {}
    for _, job_id in results:
        claimants[job_id] = claimants.get(job_id, 0) + 1
    for row_id, found in out.candidates.items():
        if len(found) == 1 and claimants[found[0]] == 1:
            out.links[row_id] = (found[0], results[(row_id, found[0])].reason())
    return out
