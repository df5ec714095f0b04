"""A stand-in for the Anthropic Messages API that replays :class:`hostkit.Script` (no LLM).

Claude Code is pointed at it with ``ANTHROPIC_BASE_URL``. A request that offers the phaseo
tools gets the script's next step, as a streamed ``tool_use`` or a final text. Claude Code defers
MCP tools behind its ``ToolSearch`` tool (only their names are in the prompt, or only "phaseo is
still connecting"), so while the phaseo tools are not offered the stand-in first does what the
model does: it calls ``ToolSearch`` to load them. Any other request (titles, summaries, quota
probes) gets a short text; ``count_tokens`` gets a small count.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from helpers import TOOL_NAMES
from hostkit import LoopbackApi, ModelRequest, Script, ToolCall, json_reply, result_text, sse

MODEL = "claude-sonnet-4-5"
MAX_SEARCHES = 3
PREFIX = "mcp__phaseo__"
SEARCH = ToolCall("ToolSearch", {"query": "select:" + ",".join(PREFIX + t for t in TOOL_NAMES)})
_ids = itertools.count(1)


class AnthropicModel(LoopbackApi):
    """``with AnthropicModel() as model:`` serves on ``model.base_url`` until the block ends."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        super().__init__(self._handle)

    def _handle(self, request: ModelRequest) -> tuple[int, dict[str, str], bytes]:
        path = request.path.split("?", 1)[0]
        if request.method == "POST" and path.endswith("/messages/count_tokens"):
            return json_reply({"input_tokens": 100})
        if request.method != "POST" or not path.endswith("/v1/messages"):
            return json_reply({"type": "error", "error": {"type": "not_found_error",
                                                           "message": path}}, 404)  # fmt: skip
        body: dict[str, Any] = request.body
        tools = {str(t.get("name", "")) for t in body.get("tools") or []}
        offered = {t.removeprefix(PREFIX): t for t in tools if t.startswith(PREFIX)}
        messages = body.get("messages") or []
        results = tool_results(messages)
        step: ToolCall | str = "ok"
        if "create_video" in offered:
            ours = [r for r in results if r[0].startswith(PREFIX)]
            step = self.script.next(ours, offered)
        elif "ToolSearch" in tools and "phaseo" in json.dumps(body):
            searches = sum(1 for name, _ in results if name == "ToolSearch")
            step = SEARCH if searches < MAX_SEARCHES else "The phaseo tools never loaded."
        if isinstance(step, ToolCall) and step.tool == "ToolSearch":
            offered["ToolSearch"] = "ToolSearch"
        if isinstance(step, ToolCall):
            name = offered[step.tool]
            block: dict[str, Any] = {"type": "tool_use", "id": f"toolu_{next(_ids):04d}",
                                     "name": name, "input": step.arguments}  # fmt: skip
        else:
            block = {"type": "text", "text": step}
        if body.get("stream"):
            return 200, {"content-type": "text/event-stream"}, stream(block, body)
        return json_reply(message(block, body, [block]))


def tool_results(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tool name, result text) for each tool_result in the conversation, in order."""
    names: dict[str, str] = {}
    results: list[tuple[str, str]] = []
    for msg in messages:
        content = msg.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if block.get("type") == "tool_use":
                names[block.get("id", "")] = block.get("name", "")
            elif block.get("type") == "tool_result":
                name = names.get(block.get("tool_use_id", ""), "?")
                results.append((name, result_text(block.get("content"))))
    return results


def message(block: dict[str, Any], body: dict[str, Any], content: list[Any]) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or MODEL,
        "content": content,
        "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }


def stream(block: dict[str, Any], body: dict[str, Any]) -> bytes:
    """The SSE event sequence the Messages API streams for one content block."""
    start = message(block, body, [])
    start["stop_reason"] = None
    if block["type"] == "tool_use":
        opened = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        opened = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
    return sse(
        [
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": opened}),
            ("ping", {"type": "ping"}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop, "stop_sequence": None},
                               "usage": {"output_tokens": 20}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )  # fmt: skip
