"""Signed webhook deliveries in both documented shapes, with retries under the same event id."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import anyio
import httpx
import pytest

from phaseo_mcp.emulator import EmulatorConfig, WebhookEndpoint, running_emulator

from emu_helpers import CREATE, client, create, running_receiver

pytestmark = pytest.mark.anyio
SECRET = "whsec_test_secret"


def _verify(secret: str, headers: dict[str, str], raw: bytes) -> dict[str, object]:
    expected = hmac.new(
        secret.encode(), headers["x-phaseo-timestamp"].encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, headers["x-phaseo-signature"])
    payload: dict[str, object] = json.loads(raw)
    assert payload["id"] == headers["x-phaseo-event-id"]
    assert payload["type"] == headers["x-phaseo-event-type"]
    return payload


async def _webhook_state(c: httpx.AsyncClient, video_id: str) -> dict[str, Any]:
    """The webhook section of a job as the emulator reports it."""
    return dict((await c.get(f"/videos/{video_id}")).json()["webhook"])


async def test_url_shape_delivers_signed_events() -> None:
    """{url, secret, events}: progress, status changes and completion arrive signed."""
    async with running_receiver() as receiver:
        config = EmulatorConfig(time_scale=0)
        async with running_emulator(config) as emu, client(emu) as c:
            events = ["video.completed", "video.progress", "job.status_changed", "created"]
            job = await create(c, webhook={"url": receiver.url, "secret": SECRET, "events": events})
            await receiver.wait_for(1)
            for _ in range(6):
                emu.clock.advance(2)
                await anyio.sleep(0.1)  # let the dispatcher see each step
            await receiver.wait_for(6)
            state = (await c.get(f"/videos/{job['id']}")).json()["webhook"]
    payloads = [_verify(SECRET, h, raw) for h, raw in receiver.deliveries]
    types = [p["type"] for p in payloads]
    assert types[0] == "video.created"
    assert "video.progress" in types and "video.status_changed" in types
    assert types[-1] == "video.completed"
    last = payloads[-1]
    assert last["data"]["status"] == "completed"  # type: ignore[index]
    assert last["delivery"]["key"] == "video.completed"  # type: ignore[index]
    headers = receiver.deliveries[-1][0]
    assert headers["x-phaseo-attempt"] == "1" and headers["x-phaseo-max-attempts"] == "4"
    assert headers["user-agent"].startswith("Phaseo-Async-Webhook")
    assert state["has_secret"] is True and "secret" not in state
    assert state["delivery"]["delivered_events"] == len(payloads)


async def test_endpoint_id_shape_uses_the_registered_endpoint() -> None:
    """{endpoint_id}: resolved via config, default events include status_changed."""
    async with running_receiver() as receiver:
        endpoints = {"we_123": WebhookEndpoint(url=receiver.url, secret=SECRET)}
        config = EmulatorConfig(time_scale=0, webhook_endpoints=endpoints)
        async with running_emulator(config) as emu, client(emu) as c:
            unknown = await c.post("/videos", json={**CREATE, "webhook": {"endpoint_id": "we_x"}})
            assert unknown.status_code == 400
            mixed = {"endpoint_id": "we_123", "url": receiver.url}
            assert (await c.post("/videos", json={**CREATE, "webhook": mixed})).status_code == 400
            job = await create(c, webhook={"endpoint_id": "we_123"})
            emu.clock.advance(100)
            await receiver.wait_for(2)
            body = (await c.get(f"/videos/{job['id']}")).json()
    types = [_verify(SECRET, h, raw)["type"] for h, raw in receiver.deliveries]
    assert "video.status_changed" in types and "video.completed" in types
    assert "video.created" not in types  # not subscribed by default
    assert body["webhook"]["endpoint_id"] == "we_123" and body["webhook"]["url"] is None


async def test_failed_delivery_is_retried_with_the_same_event_id() -> None:
    """A 500 from the receiver is retried after 60 emulated seconds, same event id."""
    async with running_receiver(statuses=[500]) as receiver:
        async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
            hook = {"url": receiver.url, "secret": SECRET, "events": ["video.completed"]}
            job = await create(c, webhook=hook)
            emu.clock.advance(20)
            await receiver.wait_for(1)
            emu.clock.advance(61)
            await receiver.wait_for(2)
            with anyio.fail_after(10):  # the emulator records the answer after it came
                while len((state := await _webhook_state(c, job["id"]))["attempts"]) < 2:
                    await anyio.sleep(0.01)
    (h1, r1), (h2, r2) = receiver.deliveries
    assert h1["x-phaseo-event-id"] == h2["x-phaseo-event-id"]
    assert (h1["x-phaseo-attempt"], h2["x-phaseo-attempt"]) == ("1", "2")
    _verify(SECRET, h2, r2)
    statuses = [a["status"] for a in state["attempts"]]
    assert statuses == ["scheduled_retry", "delivered"]
    assert state["delivery"]["last_attempt_status"] == "delivered"


async def test_webhook_url_rules(emulator_config: EmulatorConfig) -> None:
    """https anywhere and http on loopback are accepted; plain http elsewhere is refused."""
    async with running_emulator(EmulatorConfig(time_scale=0)) as emu, client(emu) as c:
        ok = await c.post("/videos", json={**CREATE, "webhook": {"url": "https://example.com/h"}})
        bad = await c.post("/videos", json={**CREATE, "webhook": {"url": "http://example.com/h"}})
        cross = {"url": "https://example.com/h", "events": ["batch.completed"]}
        wrong_events = await c.post("/videos", json={**CREATE, "webhook": cross})
    assert ok.status_code == 202
    assert bad.status_code == 400 and wrong_events.status_code == 400
