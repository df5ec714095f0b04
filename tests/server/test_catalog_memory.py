"""A caller cannot grow the server's memory through the model catalogue cache."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client
from rawstdio import RawStdio, raw_stdio_server, tool_call

from phaseo_mcp.emulator import EmulatorHandle

from helpers import call, data

pytestmark = pytest.mark.anyio
# Names the emulator's models support, so most filters return full, large catalogues.
KNOWN = ("duration", "resolution", "aspect_ratio", "seed", "generate_audio")
CALLS = 8000
WARM_UP = 400
IN_FLIGHT = 100
MAX_GROWTH = 50 * 1024 * 1024


def distinct_filters(count: int, seed: int = 12) -> list[list[str]]:
    """``count`` different ``params`` lists: subsets of real names in any order and case, with
    repeats (a few dozen filters once normalised), and now and then a made-up name (a filter
    nothing matches, and a new cache key every time)."""
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    out: list[list[str]] = []
    while len(out) < count:
        names = rng.sample(KNOWN, rng.randint(1, 3))
        names += rng.choices(names, k=rng.randint(0, 4))
        if rng.random() < 0.03:
            names.append(f"made_up_{rng.randrange(10_000)}")
        rng.shuffle(names)
        names = [n.upper() if rng.random() < 0.3 else n for n in names]
        if tuple(names) not in seen:
            seen.add(tuple(names))
            out.append(names)
    return out


async def _run(raw: RawStdio, filters: list[list[str]], first_id: int) -> None:
    """Pipelined calls, at most IN_FLIGHT unanswered at a time; every one must succeed."""
    for start in range(0, len(filters), IN_FLIGHT):
        batch = filters[start : start + IN_FLIGHT]
        ids = range(first_id + start, first_id + start + len(batch))
        await raw.send(
            *(tool_call(ids[n], "list_video_models", {"params": f}) for n, f in enumerate(batch))
        )
        await raw.until(lambda ids=ids: all(raw.answer(i) for i in ids), timeout=120)
        for i in ids:
            answer: Any = raw.answer(i)
            assert "result" in answer and not answer["result"].get("isError"), answer
        raw.messages.clear()  # keep the test process's own memory flat


async def test_thousands_of_distinct_catalogue_filters_keep_memory_bounded(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    """8,000 list_video_models calls with different parameter lists grow the server's RSS by
    less than 50 MB: the cache keys on the normalised list and keeps a bounded number."""
    filters = distinct_filters(WARM_UP + CALLS)
    log = tmp_path / "stderr.log"
    with anyio.fail_after(600):
        async with raw_stdio_server(emulator.base_url, output_dir, state_dir, log) as raw:
            server = psutil.Process(raw.process.pid)
            await _run(raw, filters[:WARM_UP], 1)
            before = server.memory_info().rss
            requests_before = emulator.counters["models"]
            await _run(raw, filters[WARM_UP:], WARM_UP + 1)
            grown = server.memory_info().rss - before
    fetched = emulator.counters["models"] - requests_before
    print(f"RSS grew {grown / 2**20:.1f} MiB over {CALLS} calls; {fetched} catalogue fetches")
    assert grown < MAX_GROWTH, f"RSS grew {grown / 2**20:.0f} MiB"
    assert fetched > 64  # the filters really were distinct: the cache was cycled through


async def test_equivalent_filters_share_one_cache_entry(
    client: Client, emulator: EmulatorHandle
) -> None:
    """Order, case, blanks around names and repeats do not make a new entry or a new fetch."""
    first = await call(client, "list_video_models", {"params": ["seed", "Duration"]})
    again = await call(
        client, "list_video_models", {"params": [" duration", "SEED", "seed", "duration"]}
    )
    assert not first.is_error and not again.is_error
    assert (data(first)["cached"], data(again)["cached"]) == (False, True)
    assert data(first)["models"] == data(again)["models"]
    assert [r.query for r in emulator.requests["models"]] == ["params=duration%2Cseed"]
