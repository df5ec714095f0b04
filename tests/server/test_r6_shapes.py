"""R6-only request shapes reach the gateway intact and match the August OpenAPI cut (checked
by the autouse fixture in tests/server/conftest.py)."""

from __future__ import annotations

import pytest
from mcp import Client

from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, WebhookEndpoint

from helpers import TIME_SCALE, call, data, text

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/hooks", secret="whsec_r6_endpoint")
    return EmulatorConfig(time_scale=TIME_SCALE, webhook_endpoints={"we_123": endpoint})


async def test_webhook_endpoint_and_media_reference_are_sent_as_given(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A webhook endpoint_id and an audio media reference reach the gateway as given."""
    audio = {
        "type": "audio_url",
        "role": "source",
        "media_url": {"url": "https://cdn.example.com/voice.mp3"},
    }
    result = await call(
        client,
        "create_video",
        {
            "model": "lightricks/ltx-2-fast",
            "prompt": "a singer on a stage",
            "duration": 8,
            "input_references": [audio],
            "input_audio_duration": 8,
            "webhook": {"endpoint_id": "we_123", "events": ["video.completed"]},
        },
    )
    assert not result.is_error, text(result)
    assert data(result)["status"] in ("queued", "processing")
    sent = emulator.received["create"][-1]
    assert sent["webhook"] == {"endpoint_id": "we_123", "events": ["video.completed"]}
    assert sent["input_references"] == [audio]


async def test_audio_reference_without_its_duration_is_refused_locally(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An audio reference without its duration is refused locally, sending nothing."""
    audio = {"type": "audio_url", "media_url": {"url": "https://cdn.example.com/voice.mp3"}}
    result = await call(
        client,
        "create_video",
        {"model": "lightricks/ltx-2-fast", "prompt": "x", "input_references": [audio]},
    )
    assert result.is_error and "input_audio_duration" in text(result)
    assert emulator.counters.total() == 0
