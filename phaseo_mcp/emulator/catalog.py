"""The emulated model catalogue behind ``GET /v1/videos/models`` (phaseo-api.md §9, §15).

Parameter names are the catalogue's own (``duration``, ``resolution``, ``aspect_ratio``,
``size``, ``seed``, ``input_image``, ``last_frame``, ``reference_images``, ``generate_audio``,
``sample_count``, ``callback_url`` …), which differ from the request's field names on purpose
(§15, open question 13). Some items carry only the ``supported_params*`` names, others only the
``supported_parameters*`` aliases, most both, so clients must read either.

``*_detail`` values: ``{"supported": true, "values": [...], "providers": [...]}`` for enumerated
parameters, ``{"supported": true, "min": m, "max": n, "providers": [...]}`` for ranges.

``pricing`` (an open object in the gateway's spec) uses one of two shapes here:
``{"currency": "usd", "unit": "second", "per_second": "0.05"}`` — price per output second and per
sample — or ``{"currency": "usd", "unit": "video", "per_video": "0.30"}`` — price per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AliasStyle = Literal["both", "params", "parameters"]

# Names a ``params`` filter may use for the same capability (§9: "size can match resolution,
# duration_seconds can match duration").
PARAM_ALIASES: tuple[frozenset[str], ...] = (
    frozenset({"duration", "duration_seconds", "seconds"}),
    frozenset({"resolution", "size"}),
    frozenset({"aspect_ratio", "ratio"}),
    frozenset({"input_image", "image", "first_frame", "input_references"}),
    frozenset({"sample_count", "number_of_videos"}),
    frozenset({"generate_audio", "audio"}),
    frozenset({"callback_url", "webhook"}),
)


@dataclass(frozen=True)
class ModelSpec:
    model: str
    name: str
    provider: str
    params: dict[str, dict[str, Any]]  # catalogue name -> detail (without supported/providers)
    input_types: tuple[str, ...] = ("text",)
    per_second: str | None = None
    per_video: str | None = None
    aliases: AliasStyle = "both"
    extra_providers: tuple[str, ...] = field(default=())

    @property
    def providers(self) -> tuple[str, ...]:
        return (self.provider, *self.extra_providers)

    def values(self, param: str) -> list[Any]:
        return list(self.params.get(param, {}).get("values", []))

    def max_samples(self) -> int:
        return int(self.params.get("sample_count", {}).get("max", 1))

    def price_usd(self, duration: float, samples: int) -> float:
        if self.per_second is not None:
            return round(float(self.per_second) * duration * samples, 4)
        return round(float(self.per_video or "0") * samples, 4)


def _enum(*values: Any) -> dict[str, Any]:
    return {"values": list(values)}


def _range(lo: int, hi: int) -> dict[str, Any]:
    return {"min": lo, "max": hi}


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        model="google/veo-3.1-lite",
        name="Veo 3.1 Lite",
        provider="google-ai-studio",
        input_types=("text", "image"),
        params={
            "duration": _enum(4, 6, 8),
            "resolution": _enum("720p", "1080p"),
            "aspect_ratio": _enum("16:9", "9:16"),
            "generate_audio": _enum(True, False),
            "input_image": {"roles": ["first_frame"], "max_items": 1},
            "sample_count": _range(1, 2),
            "seed": {},
            "negative_prompt": {},
            "callback_url": {},
        },
        per_second="0.05",
        aliases="parameters",
    ),
    ModelSpec(
        model="google/veo-3.1",
        name="Veo 3.1",
        provider="google-vertex",
        input_types=("text", "image"),
        params={
            "duration": _enum(4, 6, 8),
            "resolution": _enum("720p", "1080p", "4K"),
            "aspect_ratio": _enum("16:9", "9:16"),
            "generate_audio": _enum(True, False),
            "input_image": {"roles": ["first_frame"], "max_items": 1},
            "last_frame": {"roles": ["last_frame"], "max_items": 1},
            "sample_count": _range(1, 4),
            "seed": {},
            "negative_prompt": {},
            "callback_url": {},
        },
        per_second="0.40",
    ),
    ModelSpec(
        model="openai/sora-2",
        name="Sora 2",
        provider="openai",
        input_types=("text", "image"),
        params={
            "duration": _enum(4, 8, 12),
            "resolution": _enum("720p", "1080p"),
            "aspect_ratio": _enum("16:9", "9:16"),
            "size": _enum("1280x720", "720x1280", "1920x1080", "1080x1920"),
            "input_image": {"roles": ["first_frame", "reference"], "max_items": 1},
            "generate_audio": _enum(True),
            "seed": {},
            "sample_count": _range(1, 1),
        },
        per_second="0.10",
        aliases="params",
    ),
    ModelSpec(
        model="openai/sora",
        name="Sora",
        provider="openai",
        input_types=("text", "image"),
        params={
            "duration": _enum(4, 8, 12),
            "resolution": _enum("720p", "1080p"),
            "aspect_ratio": _enum("16:9", "9:16", "1:1"),
        },
        per_second="0.10",
        aliases="params",
    ),
    ModelSpec(
        model="minimax/hailuo-02",
        name="Hailuo 02",
        provider="minimax",
        params={
            "duration": _enum(6, 10),
            "resolution": _enum("720p", "1080p"),
            "aspect_ratio": _enum("16:9"),
            "generate_audio": _enum(False),
            "sample_count": _range(1, 1),
        },
        per_video="0.30",
        aliases="parameters",
    ),
    ModelSpec(
        model="bytedance/seedance-2.0",
        name="Seedance 2.0",
        provider="byteplus",
        input_types=("text", "image"),
        params={
            "duration": _enum(5, 10),
            "resolution": _enum("480p", "720p", "1080p"),
            "aspect_ratio": _enum("16:9", "9:16", "1:1", "4:3"),
            "generate_audio": _enum(True, False),
            "input_image": {"roles": ["first_frame"], "max_items": 1},
            "reference_images": {"roles": ["reference"], "max_items": 4},
            "sample_count": _range(1, 4),
            "seed": {},
        },
        per_second="0.08",
        extra_providers=("fal",),
    ),
    ModelSpec(
        model="lightricks/ltx-2-fast",
        name="LTX-2 Fast",
        provider="ltx",
        input_types=("text", "image", "audio"),
        params={
            "duration": _enum(6, 8, 10),
            "resolution": _enum("1080p", "2K", "4K"),
            "aspect_ratio": _enum("16:9"),
            "generate_audio": _enum(True, False),
            "input_image": {"roles": ["first_frame"], "max_items": 1},
            "input_audio": {"roles": ["source"], "max_items": 1, "duration": _range(2, 20)},
            "sample_count": _range(1, 1),
        },
        per_second="0.04",
    ),
)

MODELS_BY_ID: dict[str, ModelSpec] = {m.model: m for m in MODELS}
# Native size of each resolution at 16:9 (landscape); portrait swaps the sides.
RESOLUTION_SIZES: dict[str, tuple[int, int]] = {
    "480p": (854, 480),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "1K": (1920, 1080),
    "2K": (2560, 1440),
    "4K": (3840, 2160),
}


def _detail(spec: ModelSpec, providers: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {
        name: {"supported": True, **detail, "providers": list(providers)}
        for name, detail in spec.params.items()
    }


def _capability_fields(spec: ModelSpec, providers: tuple[str, ...]) -> dict[str, Any]:
    names = list(spec.params)
    detail = _detail(spec, providers)
    out: dict[str, Any] = {}
    if spec.aliases in ("both", "params"):
        out["supported_params"] = names
        out["supported_params_detail"] = detail
    if spec.aliases in ("both", "parameters"):
        out["supported_parameters"] = list(names)
        out["supported_parameters_detail"] = _detail(spec, providers)
    return out


def model_item(spec: ModelSpec, extra_fields: bool) -> dict[str, Any]:
    pricing: dict[str, Any] = {"currency": "usd"}
    if spec.per_second is not None:
        pricing |= {"unit": "second", "per_second": spec.per_second}
    else:
        pricing |= {"unit": "video", "per_video": spec.per_video}
    item: dict[str, Any] = {
        "model": spec.model,
        "name": spec.name,
        "status": "active",
        "input_types": list(spec.input_types),
        "output_types": ["video"],
        **_capability_fields(spec, spec.providers),
        "providers": [{"id": p, **_capability_fields(spec, (p,))} for p in spec.providers],
        "pricing": pricing,
    }
    if extra_fields:
        item["organisation"] = spec.model.split("/")[0]
        item["x_catalogue_revision"] = "emulator-2026-08"
    return item


def _supports(spec: ModelSpec, wanted: str) -> bool:
    wanted = wanted.strip().lower()
    names = {n.lower() for n in spec.params}
    if wanted in names:
        return True
    return any(wanted in group and names & group for group in PARAM_ALIASES)


def list_models(params: list[str], extra_fields: bool) -> list[dict[str, Any]]:
    """Active models that support every parameter in ``params`` (names or aliases)."""
    wanted = [p for p in params if p.strip()]
    return [
        model_item(spec, extra_fields) for spec in MODELS if all(_supports(spec, p) for p in wanted)
    ]
