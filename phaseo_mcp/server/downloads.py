"""download_video: pick the outputs, then signed links (mode=url) or verified files
(mode=file) confined to the output directory, recorded in the journal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ContentBlock, ResourceLink

from phaseo_mcp.errors import ConfigError, InputError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.job import Job, OutputInfo, to_iso, to_unix
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.jobs import paths
from phaseo_mcp.jobs.download import Expected, NameTaken, existing_matches, save_output
from phaseo_mcp.jobs.journal import JournalError
from phaseo_mcp.jobs.journal_faults import journal_warning
from phaseo_mcp.jobs.leftovers import sweep_stale
from phaseo_mcp.jobs.owner import Owner
from phaseo_mcp.os_errors import os_failure
from phaseo_mcp.server.request import gateway_for, look_up
from phaseo_mcp.server.result_models import DownloadResult, SavedFileInfo
from phaseo_mcp.server.results import failure, guidance_for, success
from phaseo_mcp.server.state import AppState
from phaseo_mcp.server.texts import summarize_download

log = logging.getLogger(__name__)


def owner_folder(output_dir: Path, owner: Owner) -> Path:
    """Where an owner's files go: the output directory itself for ``local`` (so files saved
    before owners existed stay where they are), else a folder named by the owner (a hash,
    never a key), so no caller can see, read or replace another's files."""
    return output_dir / owner.id if owner.shared else output_dir


def _pick_outputs(job: Job, index: int | None) -> list[OutputInfo]:
    outputs = job.outputs or [OutputInfo(index=0)]
    if index is None:
        return outputs
    chosen = [o for o in outputs if o.index == index]
    if not chosen:
        raise InputError(
            f"{job.video_id} has no output {index}; its outputs are "
            f"{', '.join(str(o.index) for o in outputs)}. Omit index to get all of them."
        )
    return chosen


async def download(
    ctx: Context,
    video_id: str,
    *,
    index: int | None,
    filename: str | None,
    mode: str | None,
    overwrite: bool,
    ttl_seconds: int | None,
) -> CallToolResult:
    check_video_id(video_id)
    if filename is not None:  # refuse a bad name before anything is requested
        paths.target_name(video_id, 0, None, filename, many=False)
    state, gateway, owner = gateway_for(ctx)
    settings = state.settings
    mode = mode or settings.default_download_mode
    chosen = {} if index is None else {"index": index}
    if mode == "file" and not settings.server_files:
        raise InputError(
            "This server does not save files on its own disk (the operator did not pass "
            '--server-files). Call download_video again with mode="url" to get a signed link.',
            next_call=_download_call({"video_id": video_id, **chosen, "mode": "url"}),
        )
    root = None
    if mode == "file":
        try:
            root = paths.prepare_output_dir(owner_folder(settings.output_dir, owner))
        except ConfigError as exc:  # a signed link needs no local disk
            exc.next_call = _download_call({"video_id": video_id, **chosen, "mode": "url"})
            raise
    if root is not None and root not in state.swept_output_dirs:
        state.swept_output_dirs.add(root)
        await anyio.to_thread.run_sync(sweep_stale, root)
    job, warning = await look_up(state, gateway, owner, video_id)
    if job.status != "completed":
        if job.terminal:  # failed, cancelled or expired: there will never be a video
            return failure(
                f"{video_id} is {job.status} and has no video to download. "
                + guidance_for(job).next_step,
                kind=job.failure_kind or "other",
                video_id=video_id,
                status=job.status,
            )
        return failure(
            f"{video_id} is still {job.status}; wait for it first, then download.",
            kind="not_ready",
            video_id=video_id,
            status=job.status,
            next_call={"tool": "wait_for_video", "arguments": {"video_id": video_id}},
        )
    outputs = _pick_outputs(job, index)
    files: list[SavedFileInfo] = []
    links: list[ContentBlock] = []
    if mode == "url":
        for out in outputs:
            minted = await gateway.download_url(video_id, index=out.index, ttl_seconds=ttl_seconds)
            files.append(
                SavedFileInfo(
                    index=out.index,
                    url=minted.download_url,
                    bytes=out.bytes,
                    sha256=out.sha256,
                    mime_type=out.mime_type,
                    expires_at=to_iso(to_unix(minted.expires_at)),
                )
            )
        guide = "Hand the url(s) to the user before they expire; call again for fresh links."
    else:
        assert root is not None
        many = index is None and len(job.outputs) > 1
        for out in outputs:
            info, unrecorded = await _save_one(
                state, gateway, owner, job, out, root, filename, many, overwrite
            )
            warning = warning or unrecorded
            files.append(info)
            links.append(
                ResourceLink(
                    type="resource_link",
                    uri=Path(cast(str, info.path)).as_uri(),
                    name=Path(cast(str, info.path)).name,
                    mime_type=info.mime_type or "video/mp4",
                    size=info.bytes,
                )
            )
        notes = " ".join(dict.fromkeys(f.note for f in files if f.note))
        guide = "Give the user the saved path(s); the video is verified and complete."
        guide += f" {notes}" if notes else ""
    result = DownloadResult(
        video_id=video_id, mode=mode, files=files, next_step=guide, warning=warning
    )
    return success(result, summarize_download(result), links)


async def _save_one(
    state: AppState,
    gateway: GatewayClient,
    owner: Owner,
    job: Job,
    out: OutputInfo,
    root: Path,
    filename: str | None,
    many: bool,
    overwrite: bool,
) -> tuple[SavedFileInfo, str | None]:
    """The saved (or already present) file, and a warning if the journal did not record it."""
    named = paths.target_name(job.video_id, out.index, out.mime_type, filename, many)
    target = paths.confined_path(root, named.name)
    this_output = {"video_id": job.video_id, "index": out.index}
    try:
        info, warning = await _save_to(state, gateway, owner, job, out, root, target, overwrite)
    except NameTaken as exc:
        alternative = paths.free_alternative(root, named.name)
        if alternative is not None:
            exc.next_call = _download_call({**this_output, "filename": alternative})
        raise
    except OSError as exc:
        elsewhere = _download_call({**this_output, "mode": "url"})
        raise os_failure(
            exc,
            doing=f"Saving {named.name}",
            next_calls={
                "disk_full": elsewhere,
                "not_writable": elsewhere,
                "name_too_long": _download_call(this_output),
                "too_many_open_files": _download_call(
                    {**this_output, "filename": named.name} if filename else this_output
                ),
            },
        ) from None
    return info.model_copy(update={"note": named.note}), warning


def _download_call(arguments: dict[str, object]) -> dict[str, object]:
    return {"tool": "download_video", "arguments": arguments}


async def _save_to(
    state: AppState,
    gateway: GatewayClient,
    owner: Owner,
    job: Job,
    out: OutputInfo,
    root: Path,
    target: Path,
    overwrite: bool,
) -> tuple[SavedFileInfo, str | None]:
    journal = await state.journal()
    known_sha = out.sha256
    if known_sha is None and journal is not None and target.is_file():
        try:
            record = await anyio.to_thread.run_sync(
                lambda: journal.find_download(
                    owner.key_fp,
                    job.video_id,
                    index=out.index,
                    path=str(target),
                    owner=owner.id,
                )
            )
        except JournalError:
            record = None  # unreadable journal: the file is fetched again and verified
        if record is not None and record.size == target.stat().st_size:
            known_sha = record.sha256
    if await existing_matches(target, known_sha):
        return SavedFileInfo(
            index=out.index,
            path=str(target),
            bytes=target.stat().st_size,
            sha256=known_sha,
            mime_type=out.mime_type or "video/mp4",
            transferred=False,
        ), None
    signed = out.download_url if (not out.has_content_url and out.download_url) else None
    with state.quotas.reserve(
        owner.id,
        quota=state.settings.server_files_quota_bytes,
        root=root,
        target=target,
        size=out.bytes,
        overwrite=overwrite,
        video_id=job.video_id,
    ):
        saved = await save_output(
            gateway,
            video_id=job.video_id,
            index=out.index,
            target=target,
            expected=Expected(size=out.bytes, sha256=out.sha256),
            signed_url=signed,
            overwrite=overwrite,
        )
    warning = None
    if journal is not None:
        try:
            await anyio.to_thread.run_sync(
                lambda: journal.record_download(
                    owner.key_fp,
                    job.video_id,
                    index=out.index,
                    path=str(saved.path),
                    size=saved.size,
                    sha256=saved.sha256,
                    owner=owner.id,
                )
            )
        except JournalError as exc:  # the file is saved and verified: say so regardless
            log.warning("journal could not record the download of %s: %s", job.video_id, exc)
            warning = journal_warning(exc.message)
    info = SavedFileInfo(
        index=out.index,
        path=str(saved.path),
        bytes=saved.size,
        sha256=saved.sha256,
        mime_type=out.mime_type or saved.mime_type or "video/mp4",
        transferred=saved.transferred,
    )
    return info, warning
