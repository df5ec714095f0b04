"""Shared fixtures: the anyio backend, the gateway emulator on loopback, clean settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from phaseo_mcp.clock import Clock
from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle, running_emulator
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.transport import upstream_client
from phaseo_mcp.server.app import build_server

from helpers import OTHER_KEY, TEST_KEY, TIME_SCALE, make_settings

pytest_plugins = ["pgfixture", "tiers"]
# Tests run the emulator and the server with the same speed-up (TIME_SCALE), so a 10 s job
# takes 0.1 s of real time.
__all__ = ["OTHER_KEY", "TEST_KEY"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name.startswith("PHASEO_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module to change how the emulator behaves."""
    return EmulatorConfig(time_scale=TIME_SCALE)


@pytest.fixture
async def emulator(emulator_config: EmulatorConfig) -> AsyncIterator[EmulatorHandle]:
    async with running_emulator(emulator_config) as emu:
        yield emu


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "videos"
    path.mkdir()
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def settings(emulator: EmulatorHandle, output_dir: Path, state_dir: Path) -> Settings:
    return make_settings(emulator.base_url, output_dir, state_dir)


@pytest.fixture
def server(settings: Settings) -> MCPServer:
    return build_server(settings)


@pytest.fixture(params=["auto", "legacy"])
async def client(request: pytest.FixtureRequest, server: MCPServer) -> AsyncIterator[Client]:
    """The real mcp client, in process, in both protocol eras."""
    async with Client(server, mode=request.param) as c:
        yield c


@pytest.fixture
def gateway_clock() -> Clock:
    """The clock of the ``gateway`` fixture: frozen, so only the test moves it."""
    return Clock(0)


@pytest.fixture
async def gateway(settings: Settings, gateway_clock: Clock) -> AsyncIterator[GatewayClient]:
    """A GatewayClient as the server makes one (same HTTP client), on the emulator's loopback."""
    async with upstream_client(settings) as http:
        yield GatewayClient(
            http,
            base_url=settings.base_url,
            api_key=settings.api_key_value(),
            policy=settings.retry,
            clock=gateway_clock,
        )
