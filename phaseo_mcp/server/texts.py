"""The text content of each result: everything a host that shows the model only the text
needs (ids, status, next step and next call, every saved path or signed URL with its expiry).

Only free text (a gateway's reason, a note) is ever shortened; ids, paths and URLs go out
whole, since a cut signed link is a broken one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phaseo_mcp.server.result_models import (
        DownloadResult,
        ListResult,
        ModelsResult,
        NextCall,
        VideoResult,
    )

MAX_FREE_TEXT_CHARS = 300


def clip(text: str, limit: int = MAX_FREE_TEXT_CHARS) -> str:
    """Shorten free text (a gateway's reason, a note); never used on ids, paths or URLs."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def next_call_text(call: NextCall | None) -> str:
    return f" Next call: {call.tool} {compact_json(call.arguments)}." if call else ""


def summarize_video(r: VideoResult) -> str:
    """Id, status, progress, cost, next step and next call: what a host that shows the model
    only the text needs to carry on."""
    progress = f" {r.progress:.0f}%" if r.progress is not None and not r.terminal else ""
    cost = f", cost ${r.cost_usd:.2f}" if r.cost_usd is not None else ""
    if r.estimated_cost_usd is not None and r.cost_usd is None:
        cost = f", estimated ${r.estimated_cost_usd:.2f}"
    head = f"{r.video_id}: {r.status}{progress}{cost}."
    note = f" {clip(r.note)}" if r.note else ""
    warning = f" Warning: {clip(r.warning)}" if r.warning else ""
    return f"{head}{warning} {r.next_step}{note}{next_call_text(r.next_call)}"


def summarize_download(r: DownloadResult) -> str:
    """Every saved path, or every signed URL with its expiry, written out whole."""
    if r.mode == "url":
        lines = [f"Signed download link(s) for {r.video_id}:"]
        lines += [
            f"- output {f.index}: {f.url} (expires {f.expires_at}"
            + (f", {f.bytes} bytes)" if f.bytes is not None else ")")
            for f in r.files
        ]
    else:
        lines = [f"Saved {r.video_id}:"]
        lines += [f"- output {f.index}: {f.path} ({f.bytes} bytes)" for f in r.files]
    warning = [f"Warning: {clip(r.warning)}"] if r.warning else []
    return "\n".join([*lines, *warning, r.next_step])


def summarize_list(r: ListResult) -> str:
    """One line per job: its id (what every other tool takes) and status."""
    where = "" if r.gateway_reachable else " From the local journal only."
    lines = [f"{len(r.videos)} job(s).{where}"]
    for v in r.videos:
        flags = " (outcome unknown)" if v.outcome_unknown else ""
        flags += " (probable match)" if v.probable_match else ""
        flags += " (deleted)" if v.deleted else ""
        if v.candidates:
            flags += f" (candidates: {', '.join(v.candidates)})"
        lines.append(f"- {v.video_id or '(no id yet)'}: {v.status or 'unknown'}{flags}, {v.model}")
    if r.note:
        lines.append(clip(r.note))
    if r.warning:
        lines.append(f"Warning: {clip(r.warning)}")
    return "\n".join([*lines, r.next_step] if r.videos else lines)


def summarize_models(r: ModelsResult) -> str:
    """One line per model with the values create_video accepts for it."""
    lines = [f"{len(r.models)} video model(s):"]
    for m in r.models:
        parts = [
            f"{label} {','.join(str(v) for v in values)}"
            for label, values in (
                ("durations", m.durations),
                ("resolutions", m.resolutions),
                ("aspect_ratios", m.aspect_ratios),
                ("samples", m.sample_counts),
            )
            if values
        ]
        if m.price_per_second_usd is not None:
            parts.append(f"${m.price_per_second_usd}/s")
        elif m.price_per_video_usd is not None:
            parts.append(f"${m.price_per_video_usd}/video")
        lines.append(f"- {m.id}: " + "; ".join(parts) if parts else f"- {m.id}")
    return "\n".join([*lines, r.next_step])


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
