"""A gateway client that only reaches the caller's own jobs (``--auth oauth``).

In OAuth mode every person's calls use the team's one gateway key, which could read anyone's
job. So a job id is looked up at the gateway only when the caller's journal holds it; any
other id gets exactly the answer the gateway gives an id that never existed, without a
request. A listing shows only the caller's jobs; :meth:`OwnedGateway.list_split` also hands
back, for matching the caller's creates whose answer was lost, the listed jobs nobody's
journal rows hold (never shown to the caller unless matched to one of their own creates).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from phaseo_mcp.gateway.client import ContentStream, GatewayClient
from phaseo_mcp.gateway.errors import gateway_error
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.gateway.responses import DownloadUrl, VideoList, VideoObject

Owns = Callable[[str], Awaitable[bool]]
# The body the gateway answers for an id it does not know (docs: 404 video_not_found_or_not_owned).
NOT_FOUND_BODY = {
    "status_code": 404,
    "error": "not_found",
    "reason": "video_not_found_or_not_owned",
    "description": "Video not found.",
}


class OwnedGateway(GatewayClient):
    """:class:`GatewayClient` whose per-job calls pass ``owns(video_id)`` first."""

    def __init__(self, *args: Any, owns: Owns, claimed: Owns, key_help: str, **kwargs: Any) -> None:
        super().__init__(*args, key_help=key_help, **kwargs)
        self._owns = owns
        self._claimed = claimed  # some owner of this key holds the job
        self._help = key_help

    async def _check(self, video_id: str) -> None:
        check_video_id(video_id)
        if not await self._owns(video_id):
            raise gateway_error(404, NOT_FOUND_BODY, video_id=video_id, key_help=self._help)

    async def get(self, video_id: str, *, deadline: float | None = None) -> VideoObject:
        await self._check(video_id)
        return await super().get(video_id, deadline=deadline)

    async def delete(self, video_id: str) -> dict[str, Any]:
        await self._check(video_id)
        return await super().delete(video_id)

    async def download_url(
        self, video_id: str, *, index: int = 0, ttl_seconds: int | None = None
    ) -> DownloadUrl:
        await self._check(video_id)
        return await super().download_url(video_id, index=index, ttl_seconds=ttl_seconds)

    @asynccontextmanager
    async def open_content(
        self, video_id: str, *, index: int = 0, signed_url: str | None = None
    ) -> AsyncIterator[ContentStream]:
        await self._check(video_id)
        async with super().open_content(video_id, index=index, signed_url=signed_url) as stream:
            yield stream

    async def list(
        self,
        *,
        limit: int = 50,
        statuses: Sequence[str] | None = None,
        after: str | None = None,
    ) -> VideoList:
        return (await self.list_split(limit=limit, statuses=statuses, after=after))[0]

    async def list_split(
        self,
        *,
        limit: int = 50,
        statuses: Sequence[str] | None = None,
        after: str | None = None,
    ) -> tuple[VideoList, builtins.list[VideoObject]]:
        """One listing request: the caller's jobs, and the listed jobs no owner holds."""
        listing = await super().list(limit=limit, statuses=statuses, after=after)
        mine: builtins.list[VideoObject] = []
        unclaimed: builtins.list[VideoObject] = []
        for obj in listing.data:
            if await self._owns(obj.id):
                mine.append(obj)
            elif not await self._claimed(obj.id):
                unclaimed.append(obj)
        return listing.model_copy(update={"data": mine}), unclaimed
