"""list_video_models, the capability check, cost estimates, and payload sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from phaseo_mcp.clock import Clock
from phaseo_mcp.emulator import EmulatorHandle, JobPlan
from phaseo_mcp.server.app import INSTRUCTIONS, build_server

from helpers import call, data, make_settings, text

pytestmark = pytest.mark.anyio


async def _models(client: Client, **args: object) -> list[dict]:
    result = await call(client, "list_video_models", dict(args))
    assert not result.is_error, text(result)
    return list(data(result)["models"])


async def test_models_are_summarised_compactly_from_both_alias_forms(client: Client) -> None:
    """list_video_models summarises models from both catalogue field spellings, with prices."""
    models = await _models(client)
    ids = {m["id"] for m in models}
    assert {"google/veo-3.1-lite", "openai/sora-2"} <= ids
    constrained = [m for m in models if m["durations"]]
    assert len(constrained) >= 3  # models using supported_params* and supported_parameters*
    assert any(m["price_per_second_usd"] or m["price_per_video_usd"] for m in models)


async def test_params_filter_is_passed_to_the_gateway(
    client: Client, emulator: EmulatorHandle
) -> None:
    """The params filter reaches the gateway and narrows the list, fetched separately."""
    everything = await _models(client)
    with_audio = await _models(client, params=["generate_audio"])
    assert 0 < len(with_audio) < len(everything)
    assert emulator.counters["models"] == 2


async def test_catalogue_is_cached(client: Client, emulator: EmulatorHandle) -> None:
    """The catalogue is fetched once and reused by later listings and create checks."""
    first = await call(client, "list_video_models", {})
    second = await call(client, "list_video_models", {})
    assert data(first)["cached"] is False and data(second)["cached"] is True
    assert emulator.counters["models"] == 1
    await call(client, "create_video", {"model": "openai/sora-2", "prompt": "x", "duration": 4})
    assert emulator.counters["models"] == 1  # the create check used the cache too


async def test_estimate_is_price_times_duration_times_samples(client: Client) -> None:
    """The cost estimate is the per-second price times the duration times the sample count."""
    models = {m["id"]: m for m in await _models(client)}
    veo = models["google/veo-3.1-lite"]
    samples = max(veo["sample_counts"] or [1])
    result = data(
        await call(
            client,
            "create_video",
            {"model": veo["id"], "prompt": "x", "duration": 8, "sample_count": samples},
        )
    )
    expected = veo["price_per_second_usd"] * 8 * samples
    assert result["estimated_cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad",
    [
        {"resolution": "4K"},
        {"sample_count": 4},
        {"aspect_ratio": "1:1"},
    ],
)
async def test_values_outside_the_catalogue_are_refused_before_any_post(
    client: Client, emulator: EmulatorHandle, bad: dict
) -> None:
    """Values the catalogue does not allow are refused before any create is sent."""
    models = {m["id"]: m for m in await _models(client)}
    veo = models["google/veo-3.1-lite"]
    key, value = next(iter(bad.items()))
    listed = {
        "resolution": "resolutions",
        "sample_count": "sample_counts",
        "aspect_ratio": "aspect_ratios",
    }[key]
    assert veo[listed] and value not in veo[listed]  # the emulator's catalogue disallows it
    result = await call(
        client, "create_video", {"model": veo["id"], "prompt": "x", "duration": 8, **bad}
    )
    assert result.is_error and key in text(result)
    assert emulator.counters["create"] == 0


async def test_image_reference_on_text_only_model_is_refused(
    client: Client, emulator: EmulatorHandle
) -> None:
    """An image reference for a text-only model is refused locally, naming image_url."""
    models = await _models(client)
    text_only = next(m for m in models if "image" not in m["inputs"])
    ref = {"type": "image_url", "role": "first_frame", "image_url": {"url": "https://e.com/a.png"}}
    result = await call(
        client,
        "create_video",
        {"model": text_only["id"], "prompt": "x", "input_references": [ref]},
    )
    assert result.is_error and "image_url" in text(result)
    assert emulator.counters["create"] == 0


async def test_unreachable_catalogue_lets_create_through_and_says_so(
    client: Client, emulator: EmulatorHandle
) -> None:
    """When the catalogue cannot be read, create still goes out and notes it was not checked."""
    emulator.faults.add(route="models", kind="http", status=503, count=20)
    result = await call(client, "create_video", {"model": "openai/sora-2", "prompt": "x"})
    assert not result.is_error, text(result)
    assert "not checked" in data(result)["note"]
    assert emulator.counters["create"] == 1


async def test_tools_list_is_compact_and_every_argument_described(client: Client) -> None:
    """tools/list stays under 12 KiB on the wire and describes every tool argument."""
    tools = (await client.list_tools()).tools
    wire = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    size = len(json.dumps(wire, separators=(",", ":")))  # as sent on the wire
    assert size <= 12 * 1024, size
    for tool in tools:
        assert tool.title and tool.description and tool.output_schema
        assert tool.annotations is not None
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"


async def test_status_text_is_short_and_structured_content_carries_details(
    client: Client, emulator: EmulatorHandle
) -> None:
    """A status result's text is short; the details are in its structured content."""
    emulator.plan_next_job(JobPlan(seconds=1000))
    created = await call(client, "create_video", {"model": "openai/sora-2", "prompt": "x"})
    status = await call(client, "get_video_status", {"video_id": data(created)["video_id"]})
    assert len(text(status).encode()) < 600
    assert "base64" not in text(status)
    assert data(status)["next_step"] and data(status)["poll_after_seconds"]


async def test_annotations_are_truthful(client: Client) -> None:
    """Each tool's annotations (read-only, idempotent, destructive) match what it does."""
    tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    assert tools["create_video"].read_only_hint is False
    assert tools["create_video"].idempotent_hint is False
    assert tools["get_video_status"].read_only_hint is True
    assert tools["wait_for_video"].read_only_hint is True
    assert tools["delete_video"].destructive_hint is True
    assert all(a.open_world_hint for a in tools.values())


async def test_instructions_describe_the_workflow(client: Client) -> None:
    """The server's instructions name the workflow's tools and are served in the handshake."""
    assert "create_video" in INSTRUCTIONS and "wait_for_video" in INSTRUCTIONS
    assert client.instructions == INSTRUCTIONS  # as served in the handshake


async def test_catalogue_is_cached_then_refetched_after_its_ttl(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """The catalogue is reused within its TTL on the server's clock and fetched afresh after."""
    ttl = 100.0
    settings = make_settings(emulator.base_url, output_dir, state_dir, catalog_ttl_seconds=ttl)
    clock = Clock(0)  # stands still: only the test moves it
    async with Client(build_server(settings, clock=clock)) as client:
        await call(client, "list_video_models", {})
        clock.advance(ttl - 1)
        cached = await call(client, "list_video_models", {})
        assert emulator.counters["models"] == 1 and data(cached)["cached"] is True
        clock.advance(1)
        again = await call(client, "list_video_models", {})
    assert not again.is_error and data(again)["cached"] is False
    assert emulator.counters["models"] == 2  # expired: fetched afresh


async def test_status_resource_returns_the_job(client: Client) -> None:
    """The phaseo://videos/{id} resource returns the job's status."""
    created = data(await call(client, "create_video", {"model": "openai/sora-2", "prompt": "x"}))
    resource = await client.read_resource(f"phaseo://videos/{created['video_id']}")
    body = json.loads(resource.contents[0].text)
    assert body["video_id"] == created["video_id"] and "status" in body
