"""A stand-in for the Gemini API that replays :class:`hostkit.Script` (no LLM).

Gemini CLI is pointed at it with ``GOOGLE_GEMINI_BASE_URL`` (its "gateway" auth type) and
``GEMINI_API_KEY``. A ``generateContent``/``streamGenerateContent`` request whose function
declarations include the phaseo tools gets the script's next step as a ``functionCall`` part, or
the final text. A request for JSON (Gemini CLI's model router, its next-speaker check) gets the
smallest value its schema allows, so the CLI never retries; any other request gets a short text,
and ``countTokens`` a small count.
"""

from __future__ import annotations

import json
from typing import Any

from helpers import TOOL_NAMES
from hostkit import LoopbackApi, ModelRequest, Script, ToolCall, json_reply, result_text, sse

MODEL = "gemini-2.5-pro"


class GeminiModel(LoopbackApi):
    """``with GeminiModel() as model:`` serves on ``model.base_url`` until the block ends."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        super().__init__(self._handle)

    def _handle(self, request: ModelRequest) -> tuple[int, dict[str, str], bytes]:
        path = request.path.split("?", 1)[0]
        if request.method != "POST":
            return json_reply({"error": {"code": 404, "message": path, "status": "NOT_FOUND"}}, 404)
        body: dict[str, Any] = request.body or {}
        if path.endswith(":countTokens"):
            return json_reply({"totalTokens": 100})
        if not path.endswith(("generateContent", "streamGenerateContent")):
            return json_reply({"error": {"code": 404, "message": path, "status": "NOT_FOUND"}}, 404)
        declared = [
            str(d.get("name", ""))
            for tool in body.get("tools") or []
            for d in tool.get("functionDeclarations") or []
        ]
        offered = {short: name for name in declared for short in TOOL_NAMES if name.endswith(short)}
        part: dict[str, Any] = {"text": "ok"}
        schema = (body.get("generationConfig") or {}).get("responseJsonSchema")
        if schema is None:
            schema = (body.get("generationConfig") or {}).get("responseSchema")
        if schema is not None:
            part = {"text": json.dumps(fill(schema))}
        elif "create_video" in offered:
            results = function_results(body.get("contents") or [], offered)
            step = self.script.next(results, offered)
            if isinstance(step, ToolCall):
                part = {"functionCall": {"name": offered[step.tool], "args": step.arguments}}
            else:
                part = {"text": step}
        answer = {
            "candidates": [
                {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20,
                              "totalTokenCount": 120},
            "modelVersion": MODEL,
        }  # fmt: skip
        if path.endswith("streamGenerateContent"):
            return 200, {"content-type": "text/event-stream"}, sse([(None, answer)])
        return json_reply(answer)


def function_results(
    contents: list[dict[str, Any]], offered: dict[str, str]
) -> list[tuple[str, str]]:
    """(tool, result text) for each functionResponse of a phaseo tool, in order."""
    ours = set(offered.values())
    results: list[tuple[str, str]] = []
    for content in contents:
        for part in content.get("parts") or []:
            response = part.get("functionResponse")
            if response and response.get("name") in ours:
                results.append((str(response["name"]), result_text(response.get("response"))))
    return results


def fill(schema: dict[str, Any], name: str = "") -> Any:
    """The plainest value a (Gemini-dialect) JSON schema accepts: the first enum value, a
    mid-range number, every property of an object; "user" for a next-speaker choice."""
    kind = str(schema.get("type", "object")).lower()
    if "enum" in schema:
        return "user" if name == "next_speaker" and "user" in schema["enum"] else schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: fill(sub, key) for key, sub in props.items()}
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", 1), schema.get("maximum", 100)
        return max(low, min(high, 50))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return "user" if name == "next_speaker" else "scripted"
