"""Every create body the server sent in these tests must match the gateway's own OpenAPI:
R2-shaped bodies the April cut, R6-only shapes (webhook.endpoint_id, media references) the
August cut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from phaseo_mcp.emulator import EmulatorHandle

from openapi_check import validate_create_request


def spec_cut_for(body: dict[str, Any]) -> str:
    webhook = body.get("webhook") or {}
    media = any(ref.get("type") != "image_url" for ref in body.get("input_references") or [])
    return "r6" if "endpoint_id" in webhook or media else "r2"


@pytest.fixture(autouse=True)
def create_bodies_match_the_gateway_spec(emulator: EmulatorHandle) -> Iterator[None]:
    yield
    for body in emulator.received["create"]:
        validate_create_request(body, spec_cut_for(body))  # type: ignore[arg-type]
