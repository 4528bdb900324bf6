"""What GitHub does around every REST request, as one ASGI middleware.

In order: injected faults, authentication (401 for bad credentials), the primary rate limit,
the route itself, ETag / `If-None-Match` (304, which costs nothing), rate-limit and request-id
headers, and the request log. Git traffic, the control API and the web pages pass straight
through.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import ANONYMOUS, Caller, identify
from .core import Emu
from .errors import GitHubError
from .faults import PRIMARY_DOCS, SECONDARY_DOCS, SECONDARY_MESSAGE, Fault
from .reqlog import RequestRecord
from .routes.html import PAGE_PATH
from .routes.oauth import PREFIX as OAUTH_WEB_PREFIX

_GIT_PATH = re.compile(r"^/[^/]+/[^/]+\.git(/|$)")
_FREE_PATHS = ("/rate_limit",)


def _request_id() -> str:
    parts = [secrets.token_hex(2), secrets.token_hex(2), secrets.token_hex(3), secrets.token_hex(3)]
    return ":".join(p.upper() for p in parts) + ":" + secrets.token_hex(4).upper()


def _parse_json(raw: bytes) -> Any | None:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(",")) or (
        header.strip() == "*"
    )


class ApiMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path.startswith("/_emulator")
            or path.startswith(OAUTH_WEB_PREFIX)
            or _GIT_PATH.match(path)
            or PAGE_PATH.match(path)
        ):
            await self.app(scope, receive, send)
            return
        emu: Emu = scope["app"].state.emu
        await self._handle(emu, scope, receive, send)

    async def _handle(self, emu: Emu, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive)
        request_id = _request_id()

        caller: Caller = ANONYMOUS
        auth_error: GitHubError | None = None
        try:
            caller = identify(emu.world, emu.clock, headers.get("authorization"))
        except GitHubError as exc:
            auth_error = exc
        bucket = emu.rate_limits.bucket(caller.rate_key, caller.rate_limit)
        fault = emu.faults.take(method, path)

        status: int
        response_headers: list[tuple[str, str]] = []
        response_body: bytes
        operation: str | None = None
        if fault is not None:
            status, fault_headers, payload = _fault_response(emu, fault, request_id, caller)
            response_headers.extend(fault_headers.items())
            response_body = json.dumps(payload, separators=(",", ":")).encode()
        elif auth_error is not None:
            status = auth_error.status
            response_body = json.dumps(auth_error.body(), separators=(",", ":")).encode()
        elif bucket.remaining <= 0 and path not in _FREE_PATHS:
            status = 403
            response_body = json.dumps(_primary_limit_body(caller), separators=(",", ":")).encode()
        else:
            scope.setdefault("state", {})["caller"] = caller
            status, response_headers, response_body = await _call(self.app, scope, body)
            route = scope.get("route")
            operation = getattr(route, "name", None) if route is not None else None

        names = {name.lower() for name, _ in response_headers}
        if method in ("GET", "HEAD") and status == 200:
            etag = 'W/"' + hashlib.sha256(response_body).hexdigest() + '"'
            if "etag" not in names:
                response_headers.append(("etag", etag))
            if _etag_matches(headers.get("if-none-match"), etag):
                status, response_body = 304, b""
        limited = fault is not None and fault.kind == "rate_limit"
        if status != 304 and path not in _FREE_PATHS and auth_error is None and not limited:
            bucket = emu.rate_limits.spend(caller.rate_key, caller.rate_limit)
        rate = bucket.headers()
        if fault is not None and fault.kind == "rate_limit":
            rate["x-ratelimit-remaining"] = "0"
            rate["x-ratelimit-used"] = str(bucket.limit)
        final = [
            (k, "application/json; charset=utf-8" if v == "application/json" else v)
            for k, v in response_headers
            if k.lower() != "content-length"
        ]
        final.extend(rate.items())
        final.extend(
            [
                ("x-github-request-id", request_id),
                ("x-github-media-type", "github.v3; format=json"),
                ("x-github-api-version-selected", "2022-11-28"),
                ("server", "github.com"),
            ]
        )
        if status != 304 and "content-type" not in names:
            final.append(("content-type", "application/json; charset=utf-8"))
        final.append(("content-length", str(len(response_body))))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in final],
            }
        )
        await send({"type": "http.response.body", "body": response_body})
        emu.requests.add(
            RequestRecord(
                method=method,
                path=path,
                query=query,
                status=status,
                request_headers=headers,
                request_body=_parse_json(body),
                response_body=_parse_json(response_body),
                operation=operation,
                token_kind=caller.kind if auth_error is None else None,
                fault=fault.kind if fault is not None else None,
            )
        )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            break
    return b"".join(chunks)


async def _call(
    app: ASGIApp, scope: Scope, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run the app on a buffered request; return (status, headers, body) of its answer."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, replay, capture)
    return status, headers, b"".join(chunks)


def _primary_limit_body(caller: Caller) -> dict[str, Any]:
    if caller.kind == "installation" and caller.installation is not None:
        who = f"installation ID {caller.installation.id}"
    elif caller.kind == "user" and caller.actor is not None:
        who = f"user ID {caller.actor.id}"
    else:
        who = "127.0.0.1"
    return {
        "message": f"API rate limit exceeded for {who}. (But here's the good news: "
        "Authenticated requests get a higher rate limit. Check out the documentation for more "
        "details.)"
        if caller.kind is None
        else f"API rate limit exceeded for {who}.",
        "documentation_url": PRIMARY_DOCS,
    }


def _fault_response(
    emu: Emu, fault: Fault, request_id: str, caller: Caller
) -> tuple[int, dict[str, str], dict[str, Any]]:
    if fault.kind in ("500", "502", "503"):
        messages = {"500": "Server Error", "502": "Server Error", "503": "Service Unavailable"}
        return int(fault.kind), {}, {"message": messages[fault.kind]}
    if fault.kind == "secondary_rate_limit":
        headers = {"retry-after": str(fault.retry_after if fault.retry_after is not None else 60)}
        body = {
            "message": SECONDARY_MESSAGE.format(request_id=request_id),
            "documentation_url": SECONDARY_DOCS,
        }
        return 403, headers, body
    if fault.kind == "429":
        headers = {"retry-after": str(fault.retry_after if fault.retry_after is not None else 60)}
        body = {
            "message": SECONDARY_MESSAGE.format(request_id=request_id),
            "documentation_url": SECONDARY_DOCS,
        }
        return 429, headers, body
    # primary rate limit: remaining 0 until the window resets
    return 403, {}, _primary_limit_body(caller)
