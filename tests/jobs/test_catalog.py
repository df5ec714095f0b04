"""jobs/catalog.py against the emulator's catalogue: the cache follows the server's clock, and
requests the catalogue rules out are refused before anything is paid for."""

from __future__ import annotations

import pytest

from phaseo_mcp.clock import Clock
from phaseo_mcp.emulator import EmulatorHandle
from phaseo_mcp.errors import GatewayError, InputError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.requests import CreateVideoRequest
from phaseo_mcp.gateway.responses import ModelList
from phaseo_mcp.jobs.catalog import (
    MAX_FILTER_PARAMS,
    CatalogCache,
    check_request,
    estimate_cost,
    normalise_params,
    summarize,
)

pytestmark = pytest.mark.anyio
KEY_FP = "key-fingerprint"


def _request(**fields: object) -> CreateVideoRequest:
    return CreateVideoRequest.model_validate({"prompt": "x", **fields})


async def test_the_cache_holds_for_its_ttl_on_the_clock_then_refetches(
    gateway: GatewayClient, gateway_clock: Clock, emulator: EmulatorHandle
) -> None:
    """Within the TTL the catalogue comes from the cache; from the TTL on it is fetched again."""
    cache = CatalogCache(ttl=300, clock=gateway_clock)
    assert (await cache.get(gateway, KEY_FP))[1] is False
    gateway_clock.advance(299)
    assert (await cache.get(gateway, KEY_FP))[1] is True
    gateway_clock.advance(1)
    assert (await cache.get(gateway, KEY_FP))[1] is False
    assert emulator.counters["models"] == 2


async def test_each_key_and_filter_has_its_own_entry_and_the_oldest_goes_first(
    gateway: GatewayClient, gateway_clock: Clock, emulator: EmulatorHandle
) -> None:
    """Entries are per key and normalised filter; past max_entries the least recent is dropped."""
    cache = CatalogCache(ttl=300, clock=gateway_clock, max_entries=2)
    await cache.get(gateway, KEY_FP, ["seed", "Seed "])
    assert (await cache.get(gateway, KEY_FP, ["seed"]))[1] is True  # the same filter
    await cache.get(gateway, "other-key", ["seed"])
    await cache.get(gateway, KEY_FP)
    assert len(cache) == 2
    assert (await cache.get(gateway, KEY_FP, ["seed"]))[1] is False  # dropped: fetched again
    assert emulator.counters["models"] == 4


async def test_try_get_gives_the_reason_when_the_catalogue_is_unreachable_but_not_for_a_bad_key(
    gateway: GatewayClient, gateway_clock: Clock, emulator: EmulatorHandle
) -> None:
    """An unavailable catalogue is None plus why; a rejected key is raised, not swallowed."""
    cache = CatalogCache(ttl=300, clock=gateway_clock)
    emulator.faults.add("models", "http", status=503, count=100)
    models, why = await cache.try_get(gateway, KEY_FP)
    assert models is None and why and "503" in why
    emulator.faults.clear()
    emulator.faults.add("models", "http", status=401)
    with pytest.raises(GatewayError):
        await cache.try_get(gateway, KEY_FP)


async def test_check_request_refuses_what_the_model_cannot_do_and_names_what_it_can(
    gateway: GatewayClient,
) -> None:
    """Unknown models and unsupported values are refused with the allowed ones named."""
    catalogue: ModelList = await gateway.models()
    veo = next(m for m in catalogue.data if m.model == "google/veo-3.1-lite")
    allowed = summarize(veo).durations
    assert allowed and check_request(_request(model=veo.model, duration=allowed[0]), catalogue)
    bad = next(d for d in range(1, 61) if d not in allowed)
    with pytest.raises(InputError) as caught:
        check_request(_request(model=veo.model, duration=bad), catalogue)
    assert all(str(d) in caught.value.message for d in allowed)
    with pytest.raises(InputError) as unknown:
        check_request(_request(model="google/veo-3.1-lit"), catalogue)
    assert "google/veo-3.1-lite" in unknown.value.message  # the close match is suggested


async def test_the_estimate_is_the_catalogue_price_times_duration_times_samples(
    gateway: GatewayClient,
) -> None:
    """A per-second price gives price x duration x samples."""
    catalogue = await gateway.models()
    veo = next(m for m in catalogue.data if m.model == "google/veo-3.1-lite")
    summary = summarize(veo)
    assert summary.price_per_second_usd and summary.durations
    duration = summary.durations[-1]
    samples = max(summary.sample_counts or [1])
    estimate = estimate_cost(
        _request(model=veo.model, duration=duration, sample_count=samples), veo
    )
    assert estimate == pytest.approx(summary.price_per_second_usd * duration * samples)


def test_params_filters_are_normalised_and_bounded() -> None:
    """Filters are trimmed, lower-cased, de-duplicated and sorted; odd or too many are refused."""
    assert normalise_params([" Seed", "aspect_ratio", "seed"]) == ("aspect_ratio", "seed")
    assert normalise_params(None) == ()
    for bad in (["a b"], ["x" * 65], ["1seed"]):
        with pytest.raises(InputError):
            normalise_params(bad)
    with pytest.raises(InputError):
        normalise_params([f"p{i}" for i in range(MAX_FILTER_PARAMS + 1)])
