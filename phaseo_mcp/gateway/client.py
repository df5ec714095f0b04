"""``GatewayClient``: one method per video route, on the shared ``httpx.AsyncClient``.

This is the only module that sees httpx exceptions; they leave it as ``errors.py`` types.
Reads retry per ``RetryPolicy``; the create POST is retried only when it certainly never
reached the gateway (connection refused / connect timeout) or the gateway said so (429).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from phaseo_mcp import __version__
from phaseo_mcp.clock import Clock
from phaseo_mcp.config import RetryPolicy
from phaseo_mcp.errors import ConfigError, OutcomeUnknown, TransportError
from phaseo_mcp.gateway.errors import KEY_HELP, gateway_error
from phaseo_mcp.gateway.requests import check_video_id
from phaseo_mcp.gateway.responses import DownloadUrl, ModelList, VideoList, VideoObject
from phaseo_mcp.gateway.retry import RETRYABLE_STATUSES, Backoff, parse_retry_after

log = logging.getLogger(__name__)
USER_AGENT = f"phaseo-mcp/{__version__}"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


class ContentStream:
    """An open ``/content`` (or signed URL) response; iterate its bytes once."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        length = response.headers.get("content-length")
        self.content_length = int(length) if length and length.isdigit() else None
        self.mime_type = response.headers.get("content-type", "").split(";")[0].strip() or None

    async def chunks(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body as it arrives. Leave ``chunk_size`` unset for bulk transfers: httpx
        re-chunks through a growing BytesIO that copies every byte twice (bench/: that cost
        ~45 % of a 512 MiB download's time)."""
        try:
            async for chunk in self.response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise TransportError(
                f"The download broke off ({type(exc).__name__}); it can be restarted."
            ) from None


class GatewayClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | None,
        policy: RetryPolicy,
        clock: Clock,
        key_help: str = KEY_HELP,
    ) -> None:
        self._http = http
        self._key_help = key_help
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.policy = policy
        self.clock = clock

    # ------------------------------------------------------------------ plumbing

    def _headers(self) -> dict[str, str]:
        if not self._api_key:
            raise ConfigError(f"No Phaseo API key is configured. {KEY_HELP}")
        return {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT}

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        idempotent: bool,
        deadline: float | None = None,
        video_id: str | None = None,
        stream: bool = False,
        url: str | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send with the retry policy; return a 2xx response or raise a mapped error."""
        headers = self._headers() if auth else {"User-Agent": USER_AGENT}
        target = url or f"{self.base_url}{path}"
        backoff = Backoff(self.policy, self.clock, deadline, logger=log)
        while True:
            retry_after: float | None = None
            try:
                request = self._http.build_request(
                    method, target, json=json_body, params=params, headers=headers
                )
                response = await self._http.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # The request never left: safe to retry, even a create.
                failure: Exception = TransportError(
                    f"Could not connect to the gateway at {self.base_url} "
                    f"({type(exc).__name__}). Check PHASEO_BASE_URL and the network."
                )
            except httpx.HTTPError as exc:
                if not idempotent:
                    raise OutcomeUnknown(
                        "The create request was sent but no answer came back "
                        f"({type(exc).__name__}); the job may exist and may be billed. Do NOT "
                        "call create_video again: call list_videos to find it.",
                        next_call={"tool": "list_videos", "arguments": {}},
                    ) from None
                failure = TransportError(
                    f"The gateway did not answer ({type(exc).__name__}). Try again shortly."
                )
            else:
                if response.is_success:
                    return response
                if stream:
                    await response.aread()
                    await response.aclose()
                status = response.status_code
                retryable = status in RETRYABLE_STATUSES and (idempotent or status == 429)
                failure = gateway_error(
                    status,
                    _body(response),
                    video_id=video_id,
                    retries=backoff.attempt,
                    key_help=self._key_help,
                )
                if not retryable:
                    raise failure
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            await backoff.retry_or_raise(failure, f"{method} {path}", retry_after)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self._send(method, path, **kw)
        body = _body(response)
        if body is None:
            raise TransportError(
                f"The gateway answered {method} {path} with something that is not JSON."
            )
        return body

    # ------------------------------------------------------------------ routes

    async def create(self, body: dict[str, Any]) -> VideoObject:
        data = await self._json("POST", "/videos", json_body=body, idempotent=False)
        return VideoObject.model_validate(data)

    async def get(self, video_id: str, *, deadline: float | None = None) -> VideoObject:
        check_video_id(video_id)
        data = await self._json(
            "GET", f"/videos/{video_id}", idempotent=True, deadline=deadline, video_id=video_id
        )
        return VideoObject.model_validate(data)

    async def list(
        self,
        *,
        limit: int = 50,
        statuses: Sequence[str] | None = None,
        after: str | None = None,
    ) -> VideoList:
        params: dict[str, Any] = {"limit": limit}
        if statuses:
            params["status"] = ",".join(statuses)
        if after:
            params["after"] = check_video_id(after)
        data = await self._json("GET", "/videos", params=params, idempotent=True)
        return VideoList.model_validate(data)

    async def models(self, params: Sequence[str] | None = None) -> ModelList:
        query = {"params": ",".join(params)} if params else None
        data = await self._json("GET", "/videos/models", params=query, idempotent=True)
        return ModelList.model_validate(data)

    async def delete(self, video_id: str) -> dict[str, Any]:
        check_video_id(video_id)
        data = await self._json("DELETE", f"/videos/{video_id}", idempotent=True, video_id=video_id)
        return data if isinstance(data, dict) else {}

    async def download_url(
        self, video_id: str, *, index: int = 0, ttl_seconds: int | None = None
    ) -> DownloadUrl:
        check_video_id(video_id)
        payload: dict[str, Any] = {"index": index}
        if ttl_seconds is not None:
            payload["ttl_seconds"] = ttl_seconds
        data = await self._json(
            "POST",
            f"/videos/{video_id}/download_url",
            json_body=payload,
            idempotent=True,
            video_id=video_id,
        )
        return DownloadUrl.model_validate(data)

    @asynccontextmanager
    async def open_content(
        self, video_id: str, *, index: int = 0, signed_url: str | None = None
    ) -> AsyncIterator[ContentStream]:
        """Stream one output: ``/content?index=`` with our key, or a signed URL without it."""
        check_video_id(video_id)
        if signed_url is not None:
            if not signed_url.startswith(("https://", "http://")):
                raise TransportError("The gateway gave a download URL that is not http(s).")
            response = await self._send(
                "GET",
                "",
                url=signed_url,
                idempotent=True,
                stream=True,
                auth=False,
                video_id=video_id,
            )
        else:
            params = {"index": index} if index else None
            response = await self._send(
                "GET",
                f"/videos/{video_id}/content",
                params=params,
                idempotent=True,
                stream=True,
                video_id=video_id,
            )
        try:
            yield ContentStream(response)
        finally:
            await response.aclose()
