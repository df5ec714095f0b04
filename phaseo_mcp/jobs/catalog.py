"""The model catalogue: cached, summarised, and used to check a create before it is paid for.

The catalogue's parameter names differ from the request's; ``REQUEST_TO_CATALOG`` is the one
table that maps them. Only explicit lists (``values``) or bounds (``min``/``max``) in the
catalogue refuse a request; anything it does not constrain passes through.
"""

from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from phaseo_mcp.clock import Clock
from phaseo_mcp.errors import InputError, PhaseoError
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.gateway.responses import ModelCapability, ModelList

if TYPE_CHECKING:
    from phaseo_mcp.gateway.client import GatewayClient

# request field -> catalogue parameter names that describe it (first match wins)
REQUEST_TO_CATALOG: dict[str, tuple[str, ...]] = {
    "duration": ("duration", "duration_seconds", "seconds"),
    "resolution": ("resolution", "quality"),
    "aspect_ratio": ("aspect_ratio", "ratio"),
    "size": ("size",),
    "sample_count": ("sample_count", "number_of_videos"),
    "generate_audio": ("generate_audio", "audio"),
    "seed": ("seed",),
    "negative_prompt": ("negative_prompt",),
    "enhance_prompt": ("enhance_prompt",),
    "person_generation": ("person_generation",),
    "webhook": ("callback_url", "webhook"),
}
# input_references roles -> catalogue parameters that accept them
ROLE_TO_CATALOG: dict[str, tuple[str, ...]] = {
    "first_frame": ("input_image", "image", "first_frame"),
    "last_frame": ("last_frame", "input_last_frame"),
    "reference": ("reference_images", "input_references"),
    "source": ("input_image", "input_video", "input_audio", "input_references"),
    "mask": ("mask", "input_references"),
}
INPUT_TYPE_OF_REFERENCE = {"image_url": "image", "video_url": "video", "audio_url": "audio"}


class ModelSummary(BaseModel):
    """One model, compactly: what an agent needs to pick valid arguments."""

    id: str
    name: str | None = None
    inputs: list[str] = []
    durations: list[Any] | None = None
    resolutions: list[Any] | None = None
    aspect_ratios: list[Any] | None = None
    sample_counts: list[Any] | None = None
    audio: bool | None = None
    reference_roles: list[str] | None = None
    price_per_second_usd: float | None = None
    price_per_video_usd: float | None = None


def _price(pricing: dict[str, Any] | None, *names: str) -> float | None:
    if not pricing:
        return None
    for key, value in pricing.items():
        normalised = key.lower().replace("-", "_")
        if any(name in normalised for name in names):
            if isinstance(value, dict):
                value = value.get("usd", value.get("amount"))
            try:
                return float(Decimal(str(value)))
            except (InvalidOperation, ValueError):
                continue
    return None


def _constraint(cap: ModelCapability, field: str) -> dict[str, Any] | None:
    detail = cap.detail()
    for name in REQUEST_TO_CATALOG.get(field, (field,)):
        entry = detail.get(name)
        if isinstance(entry, dict):
            return entry
    return None


MAX_EXPANDED_RANGE = 16


def _values(cap: ModelCapability, field: str) -> list[Any] | None:
    """An explicit list of allowed values: ``values``, or a small integer ``min``–``max``."""
    entry = _constraint(cap, field) or {}
    values = entry.get("values")
    if isinstance(values, list) and values:
        return list(values)
    lo, hi = entry.get("min"), entry.get("max")
    if isinstance(lo, int) and isinstance(hi, int) and 0 <= hi - lo < MAX_EXPANDED_RANGE:
        return list(range(lo, hi + 1))
    return None


def _supports(cap: ModelCapability, names: tuple[str, ...]) -> bool:
    params = set(cap.params()) | set(cap.detail())
    return any(n in params for n in names)


def summarize(cap: ModelCapability) -> ModelSummary:
    audio_values = _values(cap, "generate_audio")
    audio = None
    if audio_values is not None:
        audio = True in audio_values
    elif _supports(cap, REQUEST_TO_CATALOG["generate_audio"]):
        audio = True
    roles = [r for r, names in ROLE_TO_CATALOG.items() if _supports(cap, names)]
    return ModelSummary(
        id=cap.model,
        name=cap.name,
        inputs=cap.input_types or ["text"],
        durations=_values(cap, "duration"),
        resolutions=_values(cap, "resolution"),
        aspect_ratios=_values(cap, "aspect_ratio"),
        sample_counts=_values(cap, "sample_count"),
        audio=audio,
        reference_roles=roles or None,
        price_per_second_usd=_price(cap.pricing, "per_second", "second"),
        price_per_video_usd=_price(cap.pricing, "per_video", "video", "request"),
    )


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


def check_request(req: CreateVideoRequest, catalogue: ModelList) -> ModelCapability:
    """Refuse, before anything is paid for, what the catalogue says this model cannot do."""
    by_id = {m.model: m for m in catalogue.data}
    cap = by_id.get(req.model)
    if cap is None:
        close = difflib.get_close_matches(req.model, list(by_id), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"Unknown model {req.model!r}.{hint} Call list_video_models for the valid ids.",
            next_call={"tool": "list_video_models", "arguments": {}},
        )
    problems: list[str] = []
    for field in ("duration", "resolution", "aspect_ratio", "size", "sample_count"):
        value = getattr(req, field)
        if value is None:
            continue
        allowed = _values(cap, field)
        if allowed is not None and not any(_same(value, a) for a in allowed):
            problems.append(f"{field}={value} (allowed: {', '.join(str(a) for a in allowed)})")
        entry = _constraint(cap, field) or {}
        lo, hi = entry.get("min"), entry.get("max")
        if isinstance(value, int) and (
            (isinstance(lo, int | float) and value < lo)
            or (isinstance(hi, int | float) and value > hi)
        ):
            problems.append(f"{field}={value} (allowed: {lo}–{hi})")
    if req.generate_audio:
        audio_values = _values(cap, "generate_audio")
        if audio_values is not None and True not in audio_values:
            problems.append("generate_audio=true (this model has no audio)")
    for ref in req.input_references or []:
        kind = INPUT_TYPE_OF_REFERENCE[ref.type]
        if cap.input_types and kind not in cap.input_types:
            problems.append(
                f"an {ref.type} reference (inputs of this model: {', '.join(cap.input_types)})"
            )
        elif ref.role and cap.params() and not _supports(cap, ROLE_TO_CATALOG[ref.role]):
            problems.append(f"a reference with role {ref.role!r}")
    if problems:
        raise InputError(
            f"{req.model} does not support " + "; ".join(problems) + ". Nothing was sent.",
            next_call={"tool": "list_video_models", "arguments": {}},
        )
    return cap


def estimate_cost(req: CreateVideoRequest, cap: ModelCapability) -> float | None:
    """Price × duration × samples from the catalogue's pricing, or None when unknowable."""
    summary = summarize(cap)
    samples = req.sample_count or 1
    if summary.price_per_video_usd is not None and summary.price_per_second_usd is None:
        return round(summary.price_per_video_usd * samples, 4)
    if summary.price_per_second_usd is None:
        return None
    duration: Any = req.duration
    if duration is None:
        entry = _constraint(cap, "duration") or {}
        duration = entry.get("default") or (summary.durations or [None])[0]
    try:
        return round(summary.price_per_second_usd * float(duration) * samples, 4)
    except (TypeError, ValueError):
        return None


PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_FILTER_PARAMS = 32
CACHE_ENTRIES = 64  # catalogues kept at once, across all keys and filters


def normalise_params(params: Sequence[str] | None) -> tuple[str, ...]:
    """A ``params`` filter as one canonical key: trimmed, lower-case, de-duplicated, sorted.

    Names must look like parameter names; refused before any request, so a caller cannot
    grow the cache or the upstream query with arbitrary strings."""
    names = sorted({p.strip().lower() for p in params or ()})
    bad = [n for n in names if not PARAM_NAME.fullmatch(n)]
    if bad:
        shown = ", ".join(repr(n[:40]) for n in bad[:3])
        raise InputError(
            f"params must be parameter names like 'seed' or 'aspect_ratio' (letters, digits "
            f"and '_', at most 64 characters); not {shown}. Nothing was sent."
        )
    if len(names) > MAX_FILTER_PARAMS:
        raise InputError(
            f"params names {len(names)} parameters; at most {MAX_FILTER_PARAMS} are "
            "allowed. Nothing was sent."
        )
    return tuple(names)


@dataclass
class _Entry:
    expires: float
    models: ModelList


class CatalogCache:
    """Per key and normalised filter, the catalogue for ``ttl`` seconds; at most
    ``max_entries`` at once, the least recently used dropped first."""

    def __init__(self, ttl: float, clock: Clock, max_entries: int = CACHE_ENTRIES) -> None:
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, tuple[str, ...]], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, gateway: GatewayClient, key_fp: str, params: Sequence[str] | None = None
    ) -> tuple[ModelList, bool]:
        """The catalogue and whether it came from the cache."""
        names = normalise_params(params)
        key = (key_fp, gateway.base_url, names)
        entry = self._entries.get(key)
        if entry and entry.expires > self.clock.now():
            self._entries.move_to_end(key)
            return entry.models, True
        models = await gateway.models(list(names) or None)
        self._entries[key] = _Entry(self.clock.now() + self.ttl, models)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return models, False

    async def try_get(
        self, gateway: GatewayClient, key_fp: str
    ) -> tuple[ModelList | None, str | None]:
        """For the create check: the catalogue, or None and why it could not be had."""
        try:
            models, _ = await self.get(gateway, key_fp)
        except PhaseoError as exc:
            if exc.failure_kind == "auth":
                raise
            return None, exc.message
        return models, None
