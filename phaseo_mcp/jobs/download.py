"""Save one output to disk: temp file beside the target, size and sha256 checks, atomic rename.

Memory stays constant (chunks go straight to the file and the hash). A broken transfer
restarts from the start (the gateway has no Range support) within the retry policy; an
integrity failure gets exactly one fresh download. No partial file ever sits at the final
path: the temp file is removed on every failure, including cancellation and an OS error
(which propagates as ``OSError`` for the caller to word). Without ``overwrite`` the final
rename refuses to replace (``place.py``): a name taken meanwhile is ``NameTaken``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import anyio

from phaseo_mcp.config import DOWNLOAD_CHUNK_BYTES
from phaseo_mcp.errors import InputError, IntegrityError, PhaseoError, TransportError
from phaseo_mcp.gateway.client import GatewayClient
from phaseo_mcp.gateway.retry import Backoff
from phaseo_mcp.jobs.leftovers import TempFile, open_temp, remove_job_leftovers
from phaseo_mcp.jobs.place import place

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expected:
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Saved:
    path: Path
    size: int
    sha256: str
    mime_type: str | None
    transferred: bool


class NameTaken(PhaseoError):
    """The target name holds a different file: it was there before, or appeared meanwhile."""

    failure_kind = "file_exists"


def _size_of(path: Path) -> int | None:
    try:
        return path.lstat().st_size
    except OSError:
        return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(DOWNLOAD_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


async def existing_matches(path: Path, expected_sha256: str | None) -> bool:
    """True when ``path`` already holds exactly the bytes we would download."""
    if not expected_sha256 or not path.is_file():
        return False
    return await anyio.to_thread.run_sync(file_sha256, path) == expected_sha256.lower()


async def _fetch_once(
    gateway: GatewayClient,
    video_id: str,
    index: int,
    signed_url: str | None,
    target: Path,
    made: list[TempFile],
    expected: Expected,
) -> tuple[int, str, str | None]:
    digest = hashlib.sha256()
    size = 0
    async with gateway.open_content(video_id, index=index, signed_url=signed_url) as stream:
        temp = open_temp(target, video_id)
        made.append(temp)
        fh = temp.file
        async for chunk in stream.chunks():  # as received: re-chunking only adds copies
            fh.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        fh.flush()
        await anyio.to_thread.run_sync(os.fsync, fh.fileno())
        mime = stream.mime_type
        announced = stream.content_length
    sha = digest.hexdigest()
    if announced is not None and size != announced:
        raise TransportError(f"The download ended after {size} of {announced} bytes.")
    if expected.size is not None and size != expected.size:
        raise IntegrityError(
            f"Output {index} of {video_id} has {size} bytes but the gateway announced "
            f"{expected.size}."
        )
    if expected.sha256 and sha != expected.sha256.lower():
        raise IntegrityError(
            f"Output {index} of {video_id} does not match the sha256 the gateway announced."
        )
    return size, sha, mime


async def save_output(
    gateway: GatewayClient,
    *,
    video_id: str,
    index: int,
    target: Path,
    expected: Expected,
    signed_url: str | None = None,
    overwrite: bool = False,
) -> Saved:
    """Download one output to ``target`` (already confined by ``paths.py``)."""
    if target.exists() and not overwrite:
        raise NameTaken(
            f"A different file ({_size_of(target)} bytes) already exists at {target.name} in "
            "the output directory. Pass overwrite=true to replace it, or choose another "
            "filename."
        )
    await anyio.to_thread.run_sync(remove_job_leftovers, target.parent, video_id)
    backoff = Backoff(gateway.policy, gateway.clock, logger=log)
    integrity_retried = False
    while True:
        made: list[TempFile] = []  # the temp file, once this attempt has created it
        try:
            size, sha, mime = await _fetch_once(
                gateway, video_id, index, signed_url, target, made, expected
            )
            if target.is_symlink():
                raise InputError(f"{target.name} became a symbolic link; refusing to write.")
            temp = made[0]
            if os.name == "nt":  # Windows renames no open file; nor has it flock to release
                temp.close()
            try:
                place(temp.path, target, overwrite=overwrite)
            except FileExistsError:
                temp.discard()
                return await _lost_race(target, size, sha, mime)
            temp.close()  # only now: the lock kept leftover sweeps away until the name was set
            return Saved(target, size, sha, mime, transferred=True)
        except IntegrityError:
            _remove_all(made)
            if integrity_retried:
                raise
            integrity_retried = True
            log.warning("integrity check failed for %s[%d]; downloading once more", video_id, index)
        except TransportError as exc:
            _remove_all(made)
            gave_up = TransportError(
                f"The download of {video_id} failed {backoff.attempt + 1} times "
                f"({exc.message}). Try download_video again later."
            )
            await backoff.retry_or_raise(gave_up, f"the broken download of {video_id}[{index}]")
        except BaseException:  # cancellation and OS errors too: never leave the temp file
            _remove_all(made)
            raise


def _remove_all(made: list[TempFile]) -> None:
    for temp in made:
        temp.discard()


async def _lost_race(target: Path, size: int, sha: str, mime: str | None) -> Saved:
    """Another download took the name first: identical bytes count as saved, else refuse."""
    if await existing_matches(target, sha):
        return Saved(target, size, sha, mime, transferred=False)
    taken = _size_of(target)
    raise NameTaken(
        f"A file named {target.name} ({taken} bytes, not this video) appeared in the output "
        "directory meanwhile, while this download was running; it was left untouched. "
        "Choose another filename, or pass overwrite=true to replace it."
    )
