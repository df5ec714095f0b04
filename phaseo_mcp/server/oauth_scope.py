"""``--auth oauth``: the gateway client a signed-in person's calls use (the team's key, only
their own jobs; ``jobs/owned_gateway.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from phaseo_mcp.gateway.errors import KEY_HELP
from phaseo_mcp.jobs.owned_gateway import OwnedGateway
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.jobs.team_rows import TeamRows

if TYPE_CHECKING:
    from phaseo_mcp.server.state import AppState


def owned_gateway(state: AppState, owner: Owner, key: str) -> OwnedGateway:
    settings = state.settings

    async def owns(video_id: str) -> bool:
        if (owner.id, video_id) in state.unrecorded_creates:
            return True  # created by this owner; the journal could not record it yet
        journal = await state.require_journal()  # no journal: ownership cannot be shown
        row = await anyio.to_thread.run_sync(
            lambda: journal.get(owner.key_fp, video_id, owner=owner.id)
        )
        return row is not None

    async def claimed(video_id: str) -> bool:
        if any(vid == video_id for (_, vid), _ in state.unrecorded_creates.items()):
            return True
        journal = await state.require_journal()
        return await anyio.to_thread.run_sync(TeamRows(journal).holds, video_id)

    return OwnedGateway(
        state.http,
        base_url=settings.base_url,
        api_key=key,
        policy=settings.retry,
        clock=state.clock,
        key_help=KEY_HELP,
        owns=owns,
        claimed=claimed,
    )
