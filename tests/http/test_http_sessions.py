"""Stateful HTTP sessions are capped per caller and expire when idle, so one token holder
(or one key under --multi-user) cannot lock the others out.

Raw initialize requests over real HTTP flood the server from one caller; another caller
still connects with the real mcp client.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from httpkit import MCP_HEADERS, TOKEN_A, TOKEN_B, mcp_client, open_sessions, serve_phaseo

from phaseo_mcp.config import HttpLimits, Settings
from phaseo_mcp.doctor.static import check_http_limits
from phaseo_mcp.server.http import HttpOptions

pytestmark = pytest.mark.anyio
KEY_A = "phaseo_v1_sk_usera_aaaaaaaaaaaaaaaaaaaaaaaa01"
KEY_B = "phaseo_v1_sk_userb_bbbbbbbbbbbbbbbbbbbbbbbb02"
CAP = 3
FLOOD = 12


async def tools_listed(url: str, headers: dict[str, str], token: str | None = None) -> int:
    async with mcp_client(url, "legacy", headers=headers, token=token) as client:
        return len((await client.list_tools()).tools)


CASES: list[tuple[str, dict[str, Any], dict[str, str], dict[str, str], str | None]] = [
    ("tokens", {}, {"Authorization": f"Bearer {TOKEN_A}"}, {}, TOKEN_B),
    (
        "multi-user keys",
        {"multi_user": True},
        {"X-Phaseo-Api-Key": KEY_A},
        {"X-Phaseo-Api-Key": KEY_B},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "extra", "flooder", "other", "other_token"), CASES, ids=[c[0] for c in CASES]
)
async def test_a_session_flood_from_one_caller_leaves_room_for_another(
    settings: Settings,
    name: str,
    extra: dict[str, Any],
    flooder: dict[str, str],
    other: dict[str, str],
    other_token: str | None,
) -> None:
    """One caller opens sessions until refused (429, a message saying what to do); exactly
    the cap is admitted; a second caller still connects and works; closing one of the
    first caller's sessions lets it open one again."""
    tokens = [TOKEN_A, TOKEN_B] if other_token else []
    options = HttpOptions(max_sessions_per_caller=CAP, tokens=tokens, **extra)
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            answers = await open_sessions(served.url, FLOOD, flooder)
            opened = [r for r in answers if r.status_code == 200]
            refused = [r for r in answers if r.status_code == 429]
            listed = await tools_listed(served.url, other, other_token)
            again = await open_sessions(served.url, 1, flooder)
            session = opened[0].headers["mcp-session-id"]
            async with httpx.AsyncClient(timeout=30, headers=MCP_HEADERS | flooder) as http:
                closed = await http.delete(
                    served.url,
                    headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"},
                )
            after_close = await open_sessions(served.url, 1, flooder)
    assert len(opened) == CAP and len(refused) == FLOOD - CAP, [r.status_code for r in answers]
    message = refused[0].json()["error"]["message"]
    assert "Too many open MCP sessions" in message and "DELETE" in message
    assert listed == 7
    assert again[0].status_code == 429
    assert closed.status_code == 200
    assert after_close[0].status_code == 200


async def test_idle_sessions_expire_and_free_the_callers_slots(settings: Settings) -> None:
    """With a short idle timeout, a caller at its cap gets room back once its sessions sit
    idle: the old session ids answer 404 and a new session opens."""
    options = HttpOptions(max_sessions_per_caller=1, session_idle_timeout=0.5)
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            (first,) = await open_sessions(served.url, 1, {})
            (blocked,) = await open_sessions(served.url, 1, {})
            session = first.headers["mcp-session-id"]
            # Touching the old session would keep it alive: knock on the door instead.
            while (later := (await open_sessions(served.url, 1, {}))[0]).status_code == 429:
                await anyio.sleep(0.2)  # until the server reaps it; bounded by fail_after
            probe = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
            async with httpx.AsyncClient(timeout=30, headers=MCP_HEADERS | probe) as http:
                gone = await http.post(
                    served.url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}
                )
    assert first.status_code == 200 and blocked.status_code == 429
    assert later.status_code == 200 and gone.status_code == 404


def test_http_limits_come_from_flags_or_env_and_bad_values_are_refused_by_name() -> None:
    """Flags win over the environment; a size takes units; a bad value names its variable;
    doctor shows the effective limits."""
    env = {
        "PHASEO_SERVER_FILES_QUOTA": "512MiB",
        "PHASEO_MCP_MAX_SESSIONS_PER_CALLER": "5",
        "PHASEO_MCP_SESSION_IDLE_TIMEOUT": "90",
    }
    limits = HttpLimits.from_env(env, max_sessions_per_caller=7)
    assert limits.server_files_quota == 512 * 1024**2
    assert limits.max_sessions_per_caller == 7 and limits.session_idle_timeout == 90
    assert HttpLimits.from_env({}).server_files_quota == 10 * 1024**3
    assert HttpLimits.from_env({"PHASEO_SERVER_FILES_QUOTA": "0"}).server_files_quota == 0
    for name, bad in [
        ("PHASEO_SERVER_FILES_QUOTA", "lots"),
        ("PHASEO_SERVER_FILES_QUOTA", "-1G"),
        ("PHASEO_MCP_MAX_SESSIONS_PER_CALLER", "0"),
        ("PHASEO_MCP_SESSION_IDLE_TIMEOUT", "nan"),
    ]:
        with pytest.raises(ValueError, match=name):
            HttpLimits.from_env({name: bad})
        row = check_http_limits({name: bad})
        assert row.status == "FAIL" and name in row.detail
    assert "0.5 GiB per owner" in check_http_limits(env).detail


async def test_a_wrong_token_gets_401_never_429_and_takes_no_slot(settings: Settings) -> None:
    """With tokens and --multi-user, a key at its cap sent with a wrong token (many at once)
    gets the SDK's 401, never 429, and takes none of the right tokens' room."""
    tokens = [TOKEN_A, TOKEN_B]
    options = HttpOptions(max_sessions_per_caller=CAP, tokens=tokens, multi_user=True)
    wrong = {"Authorization": "Bearer not-a-token", "X-Phaseo-Api-Key": KEY_A}
    alpha = {"Authorization": f"Bearer {TOKEN_A}", "X-Phaseo-Api-Key": KEY_A}
    bravo = {"Authorization": f"Bearer {TOKEN_B}", "X-Phaseo-Api-Key": KEY_B}
    async with serve_phaseo(settings, options) as served:
        with anyio.fail_after(60):
            before = await open_sessions(served.url, CAP + 1, wrong)
            full = await open_sessions(served.url, CAP, alpha)
            at_cap = await open_sessions(served.url, CAP + 1, wrong)
            others = await open_sessions(served.url, 1, bravo)
    assert [r.status_code for r in before + at_cap] == [401] * (2 * CAP + 2)
    assert [r.status_code for r in full] == [200] * CAP
    assert [r.status_code for r in others] == [200]
