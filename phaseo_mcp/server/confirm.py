"""Ask the person before spending: ``create_video``'s price confirmation (MCP elicitation).

``create_video`` takes a ``confirmation`` parameter filled by :func:`confirm_create`, an SDK
resolver (``Resolve``), so the question is asked in the ``tools/call``'s own input round,
before any journal row, job or task exists: by a server request on 2025-era sessions, by an
``input_required`` result on 2026-07-28 (the answer may then reach another replica; the
round-trip state is sealed with ``PHASEO_MCP_STATE_KEYS``, see :func:`state_security`).

Hosts that cannot ask never get the question (the SDK would fail the whole call): those that
declared no form elicitation, a 2025-era request without a back channel (stateless HTTP),
and a stateless HTTP server without shared state keys. They create as before, or are refused
under ``PHASEO_REQUIRE_CONFIRMATION``. The rules themselves are in ``jobs/confirm.py``.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    RequestStateSecurity,
    Resolve,
)
from mcp.server.request_state import authenticated_principal
from mcp.types import CallToolResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from phaseo_mcp.config import Settings
from phaseo_mcp.gateway.requests import CreateVideoRequest, WebhookUrl
from phaseo_mcp.jobs.confirm import (
    CONFIRM_TITLE,
    needs_confirmation,
    over_ceiling,
    question_text,
)
from phaseo_mcp.jobs.fingerprint import request_fingerprint
from phaseo_mcp.logs import for_result, register_caller_secret, register_secret
from phaseo_mcp.server.results import failure
from phaseo_mcp.server.state import state_of

log = logging.getLogger(__name__)
INPUT_REQUIRED_VERSION = "2026-07-28"  # the first protocol that asks by input_required
PARAMETER = "confirmation"  # create_video's resolved parameter (never in its input schema)


class PriceConfirmation(BaseModel):
    """The form the host shows: one box. Unticked (or missing) means no."""

    confirm: bool = Field(
        False, title=CONFIRM_TITLE, description="Tick to start this job at the price shown."
    )


ConsentKind = Literal["not_needed", "already_started", "confirmed", "declined", "cannot_ask"]


@dataclass(frozen=True)
class Consent:
    """What the resolver decided. ``detail``: how the person answered (declined) or why the
    host cannot ask (cannot_ask). ``error``: what the create itself will raise, unsent."""

    kind: ConsentKind
    detail: str = ""
    error: BaseException | None = None


def cannot_ask_reason(ctx: Context, settings: Settings) -> str | None:
    """Why this call cannot show a question, or None when it can."""
    version = ctx.protocol_version
    modern = version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)
    if not modern and not ctx.session.can_send_request:
        # (a stateless server also forgets what such a client declared at initialize)
        return "this 2025-era request over stateless HTTP has no channel for a question"
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    # A bare ``elicitation: {}`` (before modes existed) means form; url-only does not.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return "the host did not declare MCP form elicitation, so it cannot show a dialog"
    if modern and settings.http_stateless and not settings.state_keys:
        return (
            "this stateless HTTP server has no PHASEO_MCP_STATE_KEYS, so an answer "
            "reaching another replica could not be verified"
        )
    return None


def _fingerprint_tag(fingerprint: str) -> str:
    """A short, non-secret tag that lets logs of two replicas be matched up."""
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:12]


async def _decide(ctx: Context, arguments: dict[str, Any]) -> Consent | Elicit[PriceConfirmation]:
    from phaseo_mcp.jobs.catalog import check_request, estimate_cost
    from phaseo_mcp.jobs.confirm_guard import already_started
    from phaseo_mcp.server.request import gateway_for

    settings = state_of(ctx).settings
    threshold = settings.confirm_above_usd
    if threshold is None:
        return Consent("not_needed")
    fields = {k: v for k, v in arguments.items() if k in CreateVideoRequest.model_fields}
    req = CreateVideoRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    state, gateway, owner = gateway_for(ctx)
    if state.running.closing:
        return Consent("not_needed")  # the server is stopping: the create answers so
    catalogue, _ = await state.catalog.try_get(gateway, owner.key_fp)
    estimate: float | None = None
    unpriced = "the model catalogue is unavailable"
    if catalogue is not None:
        estimate = estimate_cost(req, check_request(req, catalogue))
        unpriced = "the catalogue lists no price for this model"
    if over_ceiling(estimate, settings.max_cost_usd):
        return Consent("not_needed")  # PHASEO_MAX_COST_USD refuses it first, unsent
    if not needs_confirmation(estimate, threshold):
        return Consent("not_needed")
    journal = await state.journal()
    if journal is None:
        return Consent("not_needed")  # the create refuses: no journal, nothing sent
    fingerprint = request_fingerprint(owner.key_fp, gateway.base_url, req.body())
    tag = _fingerprint_tag(fingerprint)
    if not arguments.get("allow_duplicate"):
        window = settings.duplicate_window_seconds
        try:
            started = await anyio.to_thread.run_sync(
                lambda: already_started(
                    journal,
                    key_fp=owner.key_fp,
                    fingerprint=fingerprint,
                    owner=owner.id,
                    window_seconds=window,
                )
            )
        except Exception as exc:  # cannot tell: asking once more is the safe side
            log.warning("price confirmation %s: duplicate check failed: %s", tag, exc)
            started = False
        if started:
            log.info("price confirmation %s: already started, not asked again", tag)
            return Consent("already_started")
    if (why := cannot_ask_reason(ctx, settings)) is not None:
        log.info("price confirmation %s: not asked (%s)", tag, why)
        return Consent("cannot_ask", why)
    if ctx.input_responses:  # a later round (2026-07-28), on whichever replica it reached
        log.info("price confirmation %s: the user's answer arrived", tag)
    else:
        log.info("price confirmation %s: asking the user (%s)", tag, req.model)
    if isinstance(req.webhook, WebhookUrl):
        register_caller_secret(req.webhook.secret)
    # Only request fields reach the text; a key pasted into the prompt is redacted all the same.
    return Elicit(for_result(question_text(req, estimate, unpriced)), PriceConfirmation)


async def price_question(ctx: Context, **arguments: Any) -> Consent | Elicit[PriceConfirmation]:
    """The question to ask, or why none is asked. Runs again on every input round (and on
    whichever replica gets it), so it computes the same question from the same request."""
    try:
        return await _decide(ctx, arguments)
    except Exception as exc:  # the create raises it itself, before anything is sent
        return Consent("not_needed", error=exc)


def _by_name(names: list[str]) -> inspect.Signature:
    """The resolver takes the context and the tool's arguments by name (the SDK's rule)."""
    kind = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", kind, annotation=Context)]
    return inspect.Signature([*params, *(inspect.Parameter(n, kind) for n in names)])


price_question.__signature__ = _by_name(  # type: ignore[attr-defined]
    [*CreateVideoRequest.model_fields, "allow_duplicate"]
)


async def confirm_create(
    answer: Annotated[ElicitationResult[PriceConfirmation], Resolve(price_question)],
) -> Consent:
    """``create_video``'s ``confirmation``: the person's answer, or why none was needed."""
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, Consent):
            return answer.data
        ticked = isinstance(answer.data, PriceConfirmation) and answer.data.confirm
        log.info("price confirmation answered: %s", "accept" if ticked else "accept, unticked")
        if ticked:
            return Consent("confirmed")
        return Consent("declined", "answered the price confirmation without ticking its box")
    log.info("price confirmation answered: %s", answer.action)
    said = "declined" if answer.action == "decline" else "cancelled"
    return Consent("declined", f"{said} the price confirmation")


Confirmation = Annotated[Consent, Resolve(confirm_create)]


def refusal(ctx: Context, consent: Consent) -> CallToolResult | None:
    """The result that stops a create before anything is sent, or None to go on.
    Raises what the resolver met (the create's own error, unsent)."""
    if consent.error is not None:
        raise consent.error
    settings = state_of(ctx).settings
    if consent.kind == "declined":
        return failure(
            f"The user {consent.detail}, so this video was not "
            "created: nothing was sent and nothing was billed. Do not create it again "
            "unless the user asks for it.",
            kind="declined",
        )
    if consent.kind == "cannot_ask" and settings.require_confirmation:
        threshold = settings.confirm_above_usd or 0.0
        cheaper = (
            f" pick a job estimated below ${threshold:.2f} (list_video_models shows prices),"
            if threshold > 0
            else ""
        )
        return failure(
            f"This server asks the user to confirm the price of a video before starting it, "
            f"but {consent.detail}, and PHASEO_REQUIRE_CONFIRMATION is set. Nothing was sent. "
            f"The user can{cheaper} use a host that supports MCP elicitation (a form dialog), "
            "or ask whoever runs this server to unset PHASEO_REQUIRE_CONFIRMATION.",
            kind="confirmation_unavailable",
        )
    return None


def state_security(settings: Settings) -> RequestStateSecurity:
    """How the question's round-trip state is sealed: with PHASEO_MCP_STATE_KEYS when set
    (every replica the same keys), else with a key of this process, which only ever seals a
    question this process answers (a stateless server without keys never asks: see
    :func:`cannot_ask_reason`). The state lives as long as the duplicate-guard window and is
    bound to the caller (bearer token, and the caller's key under --multi-user)."""
    keys: list[str | bytes] = [k.get_secret_value() for k in settings.state_keys]
    for key in keys:
        register_secret(str(key), pin=True)
    if not keys and settings.http_stateless and settings.confirm_above_usd is not None:
        log.warning(
            "price confirmation: PHASEO_MCP_STATE_KEYS is not set, so this stateless server "
            "asks no one (creates proceed%s); give every replica the same keys to ask",
            ", refused under PHASEO_REQUIRE_CONFIRMATION" if settings.require_confirmation else "",
        )
    keys = keys or [os.urandom(32)]
    return RequestStateSecurity(
        keys=keys, ttl=settings.duplicate_window_seconds, bind_principal=_principal
    )


def _principal(ctx: Any) -> str | None:
    """The SDK's principal (the bearer token's client) plus, under --multi-user, the caller's
    key fingerprint: an answer sealed for one owner is refused for another."""
    from phaseo_mcp.jobs.fingerprint import key_fingerprint
    from phaseo_mcp.server.owner import API_KEY_HEADER

    principal = authenticated_principal(ctx)
    headers = getattr(ctx.request, "headers", None) or {}
    key = next((v for k, v in headers.items() if k.lower() == API_KEY_HEADER), "").strip()
    if not key:
        return principal
    return f"{principal or ''}|key-{key_fingerprint(key)}"
