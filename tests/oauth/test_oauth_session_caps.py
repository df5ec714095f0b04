"""Under ``--auth oauth`` stateful sessions are capped per signed-in person, not per access
token: a person holding several tokens (say, after refreshing) shares one cap, another person
keeps theirs, and a request without a valid token gets the SDK's 401 and takes no slot."""

from __future__ import annotations

import anyio
import httpx
import pytest
from httpkit import MCP_HEADERS, open_sessions
from oauthkit import Idp, new_key, serve_oauth

from phaseo_mcp.config import Settings
from phaseo_mcp.server.http import HttpOptions

pytestmark = pytest.mark.anyio
CAP = 2


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def statuses(answers: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in answers)


async def test_sessions_are_capped_per_person_across_their_tokens(
    settings: Settings, idp: Idp
) -> None:
    """Alice opens the cap's sessions with one token; her second token is refused (429, a
    message saying what to do), Bob still opens his; a forged token claiming to be Alice gets
    401 (never 429) however often it comes and takes no slot; closing one of Alice's sessions
    with her other token lets her open one again."""
    options = HttpOptions(max_sessions_per_caller=CAP)
    async with serve_oauth(settings, idp, options=options) as served:
        first = idp.mint(aud=served.url, sub="alice", jti="alice-first")
        second = idp.mint(aud=served.url, sub="alice", jti="alice-second")
        bob = idp.mint(aud=served.url, sub="bob")
        forged = idp.mint(aud=served.url, sub="alice", key=new_key("idp-key-1")[0])
        with anyio.fail_after(90):
            forged_before = await open_sessions(served.url, CAP + 1, bearer(forged))
            alices = await open_sessions(served.url, CAP, bearer(first))
            refused = await open_sessions(served.url, CAP, bearer(second))
            forged_at_cap = await open_sessions(served.url, 1, bearer(forged))
            bobs = await open_sessions(served.url, CAP, bearer(bob))
            session = alices[0].headers["mcp-session-id"]
            probe = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
            async with httpx.AsyncClient(timeout=30, headers=MCP_HEADERS) as http:
                closed = await http.delete(served.url, headers=probe | bearer(second))
            after_close = await open_sessions(served.url, 1, bearer(second))
            full_again = await open_sessions(served.url, 1, bearer(first))
    assert first != second
    assert statuses(forged_before) == [401] * (CAP + 1), [r.text for r in forged_before]
    assert statuses(forged_at_cap) == [401]
    assert all("invalid_token" in r.text for r in forged_before + forged_at_cap)
    assert statuses(alices) == [200] * CAP
    assert statuses(refused) == [429] * CAP, [r.text for r in refused]
    message = refused[0].json()["error"]["message"]
    assert "Too many open MCP sessions" in message and "DELETE" in message
    assert statuses(bobs) == [200] * CAP
    assert closed.status_code == 200
    assert statuses(after_close) == [200]
    assert statuses(full_again) == [429]
