"""The create-request rules of phaseo-api.md §3, with the documented 400 body."""

from __future__ import annotations

from typing import Any

import pytest

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, WebhookEndpoint

from emu_helpers import CREATE, client

pytestmark = pytest.mark.anyio
IMG = {"type": "image_url", "role": "first_frame", "image_url": {"url": "https://x.test/a.png"}}


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    hooks = {"we_123": WebhookEndpoint("http://127.0.0.1:9/h", "s")}
    return EmulatorConfig(time_scale=0, webhook_endpoints=hooks)


BAD: list[tuple[str, dict[str, Any]]] = [
    ("model", {"model": None}),
    ("model", {"model": "acme/unknown-model"}),
    ("prompt", {"prompt": None}),
    ("prompt", {"prompt": "x" * 32001}),
    ("bogus", {"bogus": True}),
    ("size", {"size": "1280x720", "resolution": "720p"}),
    ("size", {"size": "1280x720", "aspect_ratio": "16:9"}),
    ("resolution", {"resolution": "8K"}),
    ("sample_count", {"sample_count": 5}),
    ("sample_count", {"sample_count": 0}),
    ("duration", {"duration": 121}),
    ("duration", {"duration": "8"}),
    ("input_references", {"input_references": [{**IMG, "extra": 1}]}),
    ("input_references", {"input_references": [{**IMG, "image_url": {"url": "http://x/a"}}]}),
    ("input_references", {"input_references": [{"type": "video_url", "image_url": {"url": "https://x"}}]}),
    ("input_references", {"input_references": [{**IMG, "role": "middle"}]}),
    ("output", {"output": {"access": "email"}}),
    ("webhook", {"webhook": {"endpoint_id": "we_123", "secret": "s"}}),
    ("webhook", {"webhook": {"url": "https://x.test/h", "events": ["batch.completed"]}}),
    ("provider", {"provider": {"order": "openai"}}),
    ("provider", {"provider": {"fastest": True}}),
    ("provider_params", {"provider_params": {"nested": {"Sample-Count": 2}}}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "fields"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
async def test_invalid_creates_are_400_validation_error(
    emulator: EmulatorHandle, field: str, fields: dict[str, Any]
) -> None:
    """Each rule violation is a 400 validation_error whose details name the field."""
    body = {k: v for k, v in {**CREATE, **fields}.items() if v is not None}
    async with client(emulator) as c:
        response = await c.post("/videos", json=body)
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["error"] == "validation_error" and data["status_code"] == 400
    assert data["details"] and data["details"][0]["path"][0] == field
    assert emulator.jobs == {}


GOOD: list[dict[str, Any]] = [
    {"duration": 8, "resolution": "1080p", "aspect_ratio": "9:16", "seed": 7, "sample_count": 2},
    {"size": "1280x720", "generate_audio": False, "negative_prompt": "blur"},
    {"prompt": "", "input_references": [IMG]},  # R6: empty prompt allowed with an image
    {"input_references": [{"type": "audio_url", "media_url": {"url": "https://x.test/a.wav"}}],
     "input_audio_duration": 5, "model": "lightricks/ltx-2-fast"},
    {"webhook": {"endpoint_id": "we_123", "events": ["video.progress"]}},
    {"webhook": {"url": "http://localhost:9/h", "secret": "whsec_x", "events": ["completed"]}},
    {"provider": {"order": ["google-ai-studio"], "allow_fallbacks": None, "sort": "price"}},
    {"provider_params": {"camera_motion": "dolly_in"}, "output": {"access": "both"}},
    {"seconds": "8", "model": "openai/sora-2", "input_reference": {"file_id": "file_1"}},
    {"routing": {"only": ["openai"]}, "model": "openai/sora-2", "debug": {}, "beta": {}},
]  # fmt: skip


@pytest.mark.parametrize("fields", GOOD)
async def test_valid_creates_are_accepted(emulator: EmulatorHandle, fields: dict[str, Any]) -> None:
    """Documented and tolerated-undocumented fields are accepted with 202."""
    async with client(emulator) as c:
        response = await c.post("/videos", json={**CREATE, **fields})
    assert response.status_code == 202, response.text


async def test_invalid_json_and_oversized_bodies(emulator: EmulatorHandle) -> None:
    """Broken JSON is 400 invalid_json; a body over 1 MiB is 413 payload_too_large."""
    async with client(emulator) as c:
        broken = await c.post(
            "/videos", content=b"{nope", headers={"content-type": "application/json"}
        )
        huge = await c.post("/videos", json={**CREATE, "negative_prompt": "x" * 2_000_000})
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_json"
    assert huge.status_code == 413 and huge.json()["error"] == "payload_too_large"
