"""Drive ``mcpServers`` config files with mcp-use; runs in mcp-use's own venv.

    python mcp_use_driver.py PLAN.json

PLAN.json lists ``{"config": path, "server": name, "action": "list"|"full", "report": path}``
items, run one after another in this one process (importing mcp-use takes seconds). Each file
is loaded with ``MCPClient.from_config_file`` as given (the test only fills in what the configs
README tells a user to edit); the client connects, lists the tools and, for ``full``, runs
create_video -> wait_for_video (until terminal, bounded) -> download_video. Each item's report
(JSON; mcp-use logs to stdout) holds the tool names and each call's text and structured
content, or the error that stopped it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
import uuid
from typing import Any

from mcp_use import MCPClient

CREATE = {
    "model": "google/veo-3.1-lite",
    "prompt": "A paper boat drifting on a pond, seen from above",
    "duration": 8,
    "aspect_ratio": "16:9",
}
MAX_WAITS = 20
CALL_TIMEOUT = 120.0


def _result(result: Any) -> dict[str, Any]:
    texts = [getattr(block, "text", "") for block in result.content]
    return {
        "is_error": bool(result.isError),
        "text": "\n".join(t for t in texts if t),
        "structured": getattr(result, "structuredContent", None),
        "content_types": [block.type for block in result.content],
    }


async def drive(config_path: str, name: str, action: str) -> dict[str, Any]:
    client = MCPClient.from_config_file(config_path)
    report: dict[str, Any] = {"servers": client.get_server_names()}
    session = await client.create_session(name)
    try:
        report["connected"] = session.is_connected
        tools = await asyncio.wait_for(session.list_tools(), CALL_TIMEOUT)
        report["tools"] = sorted(tool.name for tool in tools)
        if action == "full":
            # A fresh prompt per run: the server refuses an identical create as a duplicate.
            args = {**CREATE, "prompt": f"{CREATE['prompt']} (take {uuid.uuid4().hex[:8]})"}
            created = _result(await session.call_tool("create_video", args))
            report["create"] = created
            video_id = (created["structured"] or {}).get("video_id")
            waits = []
            for _ in range(MAX_WAITS):
                waited = _result(
                    await asyncio.wait_for(
                        session.call_tool("wait_for_video", {"video_id": video_id}), CALL_TIMEOUT
                    )
                )
                waits.append(waited)
                if waited["is_error"] or (waited["structured"] or {}).get("terminal"):
                    break
            report["waits"] = waits
            report["download"] = _result(
                await asyncio.wait_for(
                    session.call_tool("download_video", {"video_id": video_id}), CALL_TIMEOUT
                )
            )
    finally:
        await client.close_all_sessions()
    return report


async def drive_all(plan: list[dict[str, str]]) -> list[dict[str, Any]]:
    reports = []
    for item in plan:
        try:
            reports.append(await drive(item["config"], item["server"], item["action"]))
        except Exception:  # recorded for that file's test; the next file still runs
            reports.append({"error": traceback.format_exc()})
    return reports


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        items = json.load(f)
    for item, report in zip(items, asyncio.run(drive_all(items)), strict=True):
        with open(item["report"], "w", encoding="utf-8") as f:
            json.dump(report, f)
