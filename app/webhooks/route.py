"""`POST /api/github/webhooks`: size limit, signature, JSON, then the handler (in a worker
thread), answered 202 once the delivery and its job are committed. Replies are posted after the
answer, as background tasks."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.state import AppState, State
from app.webhooks.handler import DeliveryFailed, Reply
from app.webhooks.signature import InvalidSignature, verify_signature

_log = logging.getLogger(__name__)

router = APIRouter()


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _TooLarge
        except ValueError:
            pass
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes, content_type: str) -> Any:
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=True)
        return json.loads(form["payload"][0])
    return json.loads(body)


def _answer(
    state: AppState, event: str, outcome: str, status: int, started: float, **body: Any
) -> JSONResponse:
    state.metrics.deliveries.labels(event or "unknown", outcome).inc()
    state.metrics.ack_seconds.observe(time.perf_counter() - started)
    return JSONResponse({"outcome": outcome, **body}, status_code=status)


@router.post("/api/github/webhooks", status_code=202)
async def receive_webhook(
    request: Request, state: State, background: BackgroundTasks
) -> JSONResponse:
    started = time.perf_counter()
    event = request.headers.get("x-github-event", "")
    delivery_id = request.headers.get("x-github-delivery", "")
    secret = state.settings.webhook_secret
    if secret is None:
        return _answer(
            state,
            event,
            "unconfigured",
            503,
            started,
            error="AUTOCODER_WEBHOOK_SECRET is not set; this server cannot verify deliveries",
        )
    try:
        body = await _read_body(request, state.settings.webhook_max_bytes)
    except _TooLarge:
        limit_mb = state.settings.webhook_max_bytes / 1024 / 1024
        return _answer(
            state, event, "too_large", 413, started, error=f"payload over {limit_mb:g} MB"
        )
    try:
        verify_signature(
            body, request.headers.get("x-hub-signature-256"), secret.get_secret_value()
        )
    except InvalidSignature as exc:
        _log.warning("refused a delivery %r: %s", delivery_id, exc)
        return _answer(state, event, "bad_signature", 401, started, error=str(exc))
    if not event or not delivery_id or len(delivery_id) > 64:
        return _answer(
            state,
            event,
            "malformed",
            400,
            started,
            error="X-GitHub-Event and X-GitHub-Delivery (at most 64 characters) are required",
        )
    try:
        payload = _parse(body, request.headers.get("content-type", ""))
    except (ValueError, KeyError, UnicodeDecodeError):
        return _answer(state, event, "malformed", 400, started, error="the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(
            state, event, "malformed", 400, started, error="the body is not a JSON object"
        )
    try:
        outcome = await run_in_threadpool(state.handler.handle, event, delivery_id, payload)
    except DeliveryFailed as failure:
        return _answer(
            state,
            event,
            "failed",
            503 if failure.transient else 500,
            started,
            delivery=delivery_id,
            error=str(failure),
        )
    for reply in outcome.replies:
        background.add_task(_post_reply, state, reply)
    return _answer(
        state,
        event,
        outcome.status,
        200 if outcome.status == "duplicate" else 202,
        started,
        delivery=delivery_id,
        detail=outcome.detail,
        job=outcome.job_id,
    )


def _post_reply(state: AppState, reply: Reply) -> None:
    if state.github is None:
        return
    try:
        state.github.comment(reply.installation_id, reply.repository, reply.number, reply.body)
    except Exception as exc:
        _log.warning("could not comment on %s#%d: %s", reply.repository, reply.number, exc)
