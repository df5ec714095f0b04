"""Small helpers shared by the emulator's tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import uvicorn

from phaseo_mcp.emulator import EmulatorHandle

KEY = "phaseo_v1_sk_test01_s3cretvalue0123456789"
OTHER = "aistats_v1_sk_test02_othersecret9876543210"
CREATE = {"model": "google/veo-3.1-lite", "prompt": "A cinematic sunrise over a mountain lake"}


def client(emu: EmulatorHandle, key: str | None = KEY, **kw: Any) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    kw.setdefault("timeout", 10.0)
    return httpx.AsyncClient(base_url=emu.base_url, headers=headers, **kw)


async def create(c: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await c.post("/videos", json={**CREATE, **fields})
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


async def finish(emu: EmulatorHandle, seconds: float | None = None) -> None:
    """Move emulated time past the end of every job (plus a margin)."""
    emu.clock.advance(seconds if seconds is not None else emu.config.job_seconds * 2 + 1)
    await anyio.lowlevel.checkpoint()


class Receiver:
    """A loopback webhook receiver that answers the queued statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._arrived = anyio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.deliveries.append((headers, body))
        self._arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def wait_for(self, count: int) -> None:
        """Wait (5 s at most) until ``count`` deliveries have arrived."""
        with anyio.fail_after(5):
            while len(self.deliveries) < count:
                await self._arrived.wait()
                self._arrived = anyio.Event()


@contextlib.asynccontextmanager
async def running_receiver(statuses: list[int] | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver(statuses)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(uvicorn.Config(receiver, lifespan="off", log_config=None, ws="none"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            await anyio.sleep(0.005)
        try:
            yield receiver
        finally:
            server.should_exit = True
