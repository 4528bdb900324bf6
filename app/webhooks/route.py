"""`POST /api/github/webhooks`, a raw ASGI app in front of FastAPI (`WebhooksFirst`): size
limit, signature, JSON, decision, then the group commit; answered 202 once the delivery and its
job are committed (200 for a duplicate). Replies are posted after the answer.

Why raw ASGI: this is the one hot path of the server (GitHub sends bursts); FastAPI's request,
dependency and response layers cost more than the work itself. Everything else goes to FastAPI.
Decisions that need no GitHub call are made on the event loop; those that may call GitHub (the
bot's login, an actor's permission, both cached) run in a worker thread. All writes go through
one writer thread (`GroupCommit`), one transaction for the deliveries that arrived together.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.state import AppState
from app.webhooks.batch import Result, Verified, group_writer
from app.webhooks.group_commit import GroupCommit
from app.webhooks.handler import DeliveryFailed, Outcome, Reply
from app.webhooks.permission_events import forget_permissions
from app.webhooks.signature import InvalidSignature, verify_signature
from runner.decide import Decision, decide

_log = logging.getLogger(__name__)

PATH = "/api/github/webhooks"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class WebhooksFirst(FastAPI):
    """The FastAPI app, except that `/api/github/webhooks` is answered by `webhooks` before
    any of FastAPI's layers (routing, middleware, exception handlers) run."""

    github_webhooks: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        receiver = self.github_webhooks
        if receiver is not None and scope["type"] == "http" and scope["path"] == PATH:
            await receiver(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def delivery_writer(state: AppState) -> GroupCommit[Verified, Result]:
    """The App's single writer of deliveries (started on the first delivery)."""
    url = state.database.engine.url
    lock_file, sqlite = None, None
    database = url.database or ""
    sqlite_file = database not in ("", ":memory:") and not database.startswith("file:")
    if url.drivername.startswith("sqlite") and sqlite_file:
        lock_file = Path(database + ".webhooks.lock")
        sqlite = state.database.engine
    writer = group_writer(state.database.sessions, state.handler, lock_file, sqlite)
    return GroupCommit(writer, name="webhook-writer")


def parse_payload(body: bytes, content_type: str) -> Any:
    """The delivery's JSON: the body, or the `payload` field of a form-encoded body."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=True)
        return orjson.loads(form["payload"][0])
    return orjson.loads(body)


class WebhookReceiver:
    """Answers `POST /api/github/webhooks` (a raw ASGI app for that one path)."""

    def __init__(self, state: AppState, writer: GroupCommit[Verified, Result]) -> None:
        self.state = state
        self.writer = writer
        self._rules = state.settings.rules(None)  # without an App, the rules never change
        self._replying: dict[tuple[str, int], asyncio.Future[None]] = {}  # the last, per issue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            body = orjson.dumps({"detail": "Method Not Allowed"})
            await _respond(send, 405, body, [(b"allow", b"POST")])
            return
        started = time.perf_counter()
        headers = _headers(scope)
        event = headers.get("x-github-event", "")
        try:
            status, answer, replies = await self._receive(headers, event, receive)
        except _Disconnected:
            return
        metrics = self.state.metrics
        metrics.deliveries.labels(event or "unknown", answer["outcome"]).inc()
        metrics.ack_seconds.observe(time.perf_counter() - started)
        await _respond(send, status, orjson.dumps(answer))
        for reply in replies:  # after the answer, as Starlette's background tasks would
            await self._post_in_order(reply)

    async def _post_in_order(self, reply: Reply) -> None:
        """Post `reply` once the replies to earlier deliveries about the same issue are
        posted: `/autocoder run` then `/autocoder stop` are answered in that order, although
        each is posted after its own delivery's answer, by a thread of its own."""
        key = (reply.repository, reply.number)
        previous = self._replying.get(key)
        mine = asyncio.get_running_loop().create_future()
        self._replying[key] = mine
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await run_in_threadpool(_post_reply, self.state, reply)
        finally:
            mine.set_result(None)
            if self._replying.get(key) is mine:
                del self._replying[key]

    async def _receive(
        self, headers: dict[str, str], event: str, receive: Receive
    ) -> tuple[int, dict[str, Any], tuple[Reply, ...]]:
        settings = self.state.settings
        delivery_id = headers.get("x-github-delivery", "")
        secret = settings.webhook_secret
        if secret is None:
            error = "AUTOCODER_WEBHOOK_SECRET is not set; this server cannot verify deliveries"
            return 503, {"outcome": "unconfigured", "error": error}, ()
        try:
            body = await _read_body(headers, receive, settings.webhook_max_bytes)
        except _TooLarge:
            limit_mb = settings.webhook_max_bytes / 1024 / 1024
            return 413, {"outcome": "too_large", "error": f"payload over {limit_mb:g} MB"}, ()
        try:
            verify_signature(body, headers.get("x-hub-signature-256"), secret.get_secret_value())
        except InvalidSignature as exc:
            _log.warning("refused a delivery %r: %s", delivery_id, exc)
            return 401, {"outcome": "bad_signature", "error": str(exc)}, ()
        if not event or not delivery_id or len(delivery_id) > 64:
            error = "X-GitHub-Event and X-GitHub-Delivery (at most 64 characters) are required"
            return 400, {"outcome": "malformed", "error": error}, ()
        try:
            payload = parse_payload(body, headers.get("content-type", ""))
        except (ValueError, KeyError, UnicodeDecodeError):
            return 400, {"outcome": "malformed", "error": "the body is not JSON"}, ()
        if not isinstance(payload, dict):
            return 400, {"outcome": "malformed", "error": "the body is not a JSON object"}, ()

        result = await self.writer.submit(await self._decide(event, delivery_id, payload))
        if isinstance(result, DeliveryFailed):
            answer = {"outcome": "failed", "delivery": delivery_id, "error": str(result)}
            return (503 if result.transient else 500), answer, ()
        return _answer(result), _body(result, delivery_id), result.replies

    async def _decide(self, event: str, delivery_id: str, payload: dict[str, Any]) -> Verified:
        """Decided on the event loop when it needs no GitHub call; otherwise in a thread."""
        state = self.state
        forget_permissions(state.github, event, payload)
        decision: Decision | None = None
        if state.github is None:
            decision = decide(event, payload, self._rules)
            if not decision.needs_write:
                return Verified(event, delivery_id, payload, decision)
        try:
            decision = await run_in_threadpool(state.handler.decide_delivery, event, payload)
        except DeliveryFailed as failure:
            return Verified(event, delivery_id, payload, None, failure)
        return Verified(event, delivery_id, payload, decision)


def _answer(outcome: Outcome) -> int:
    return 200 if outcome.status == "duplicate" else 202


def _body(outcome: Outcome, delivery_id: str) -> dict[str, Any]:
    return {
        "outcome": outcome.status,
        "delivery": delivery_id,
        "detail": outcome.detail,
        "job": outcome.job_id,
    }


def _headers(scope: Scope) -> dict[str, str]:
    wanted = {}
    for name, value in scope["headers"]:
        if name in _WANTED:
            wanted[name.decode("latin-1")] = value.decode("latin-1")
    return wanted


_WANTED = frozenset(
    {
        b"x-github-event",
        b"x-github-delivery",
        b"x-hub-signature-256",
        b"content-type",
        b"content-length",
    }
)


async def _read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _TooLarge
        except ValueError:
            pass
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode("ascii"))]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _post_reply(state: AppState, reply: Reply) -> None:
    if state.github is None:
        return
    try:
        state.github.comment(reply.installation_id, reply.repository, reply.number, reply.body)
    except Exception as exc:
        _log.warning("could not comment on %s#%d: %s", reply.repository, reply.number, exc)
