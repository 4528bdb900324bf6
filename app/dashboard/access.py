"""Who may use the dashboard and the API, checked once for every request (an ASGI middleware
around the whole App; the webhook route is answered before it and checks its own signature).

- Remote access off (the default): only requests from this machine are served — a loopback
  client, no proxy's forwarding header, and a loopback `Host` (so a web page whose name resolves
  to 127.0.0.1 cannot read it: DNS rebinding). Everything else gets 403 saying what to set.
- `AUTOCODER_ALLOW_REMOTE=1`: every request needs sign-in — HTTP basic with the configured user
  and password (compared in constant time; the operator), or, with the App's OAuth client id and
  secret set, a session cookie from signing in through GitHub (`oauth.py`; a page asked for
  without one is redirected there). A person signed in through GitHub is a `GitHubLogin` and only
  reaches repositories they can write to (`gate.py`). Credentials in a query string are refused.
- Either way, a request that changes state (anything but GET/HEAD/OPTIONS) needs the page's CSRF
  token in `X-CSRF-Token` and an `Origin` of this same site.
- `brief_paths` (`/healthz`) answer everyone, but only in brief to a request that would be
  refused: a load balancer's or Kubernetes' probe learns whether the server is up, not why.

The signed-in person's name is left in `scope["state"]["principal"]` for the routes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.dashboard.gate import Gate
from app.dashboard.oauth import LOGIN_PATH, GitHubOAuth

LOCAL_PRINCIPAL = "local"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORWARDING_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip"})
CREDENTIAL_PARAMS = frozenset(
    {"password", "passwd", "pass", "token", "access_token", "api_key", "apikey", "secret", "auth"}
)
REALM = 'Basic realm="autocoder", charset="UTF-8"'


class GitHubLogin(str):
    """A principal signed in through GitHub (their login): gated per repository."""


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Access:
    """The access rules of one server. `csrf_key` is random per process: pages carry a token
    derived from it and the signed-in person (a restart asks pages to reload)."""

    allow_remote: bool = False
    user: str | None = None
    password: str | None = None
    exempt_paths: frozenset[str] = frozenset()
    exempt_prefixes: tuple[str, ...] = ()  # routes with their own bearer tokens
    # answered to anyone, but in brief unless the request passes (a load balancer's probe):
    # the route sees `principal` None
    brief_paths: frozenset[str] = frozenset()
    csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    oauth: GitHubOAuth | None = None  # sign-in through GitHub, beside basic auth

    def __post_init__(self) -> None:
        basic = bool(self.user and self.password)
        if self.allow_remote and not basic and self.oauth is None:
            raise ValueError("remote access needs a dashboard user and password, or GitHub OAuth")

    def csrf_token(self, principal: str) -> str:
        subject = f"github:{principal}" if isinstance(principal, GitHubLogin) else principal
        return hmac.new(self.csrf_key, f"csrf:{subject}".encode(), hashlib.sha256).hexdigest()

    def check(
        self,
        *,
        method: str,
        client_host: str | None,
        headers: Mapping[str, str],
        query: str,
    ) -> str | Refusal:
        """The principal, or why the request is refused. `headers`: lower-case names."""
        if _credentials_in(query):
            return Refusal(400, "credentials never go in a URL; sign in with HTTP basic auth")
        if self.allow_remote:
            principal: str | None = self._signed_in(headers.get("authorization", ""))
            if principal is None and self.oauth is not None:
                login = self.oauth.session_login(headers.get("cookie", ""))
                principal = GitHubLogin(login) if login is not None else None
            if principal is None:
                return self._sign_in_please()
        else:
            problem = _not_local(client_host, headers)
            if problem is not None:
                return Refusal(
                    403,
                    f"autocoder's dashboard and API answer this machine only ({problem}); to "
                    "use them from elsewhere set AUTOCODER_ALLOW_REMOTE=1 with "
                    "AUTOCODER_DASHBOARD_USER and AUTOCODER_DASHBOARD_PASSWORD, behind HTTPS",
                )
            principal = LOCAL_PRINCIPAL
        if method.upper() not in SAFE_METHODS:
            problem = self._csrf_problem(principal, headers)
            if problem is not None:
                return Refusal(403, problem)
        return principal

    def _sign_in_please(self) -> Refusal:
        challenge = (("www-authenticate", REALM),) if self.user and self.password else ()
        where = f" (through GitHub: {LOGIN_PATH})" if self.oauth is not None else ""
        return Refusal(401, f"sign in to use autocoder{where}", challenge)

    def _signed_in(self, authorization: str) -> str | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, colon, password = decoded.partition(":")
        if not colon or self.user is None or self.password is None:
            return None
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user if user_ok and password_ok else None

    def _csrf_problem(self, principal: str, headers: Mapping[str, str]) -> str | None:
        token = headers.get(CSRF_HEADER, "")
        if not token or not hmac.compare_digest(token, self.csrf_token(principal)):
            return "missing or stale CSRF token: reload the page"
        origin = headers.get("origin", "")
        host = headers.get("host", "")
        if not origin or origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return "cross-site request refused (its Origin is not this site)"
        return None


def _credentials_in(query: str) -> bool:
    return any(key.lower() in CREDENTIAL_PARAMS for key, _ in parse_qsl(query, True))


def _is_loopback_host(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _not_local(client_host: str | None, headers: Mapping[str, str]) -> str | None:
    """Why a request is not from this machine (None: it is)."""
    forwarded = sorted(FORWARDING_HEADERS & set(headers))
    if forwarded:
        return f"it came through a proxy ({forwarded[0]})"
    if client_host is None:
        return None  # a Unix socket
    try:
        client = ipaddress.ip_address(client_host)
    except ValueError:
        return None  # not a network peer (an in-process test transport)
    if not client.is_loopback:
        return f"the client {client_host} is not on loopback"
    if not _is_loopback_host(headers.get("host", "")):
        return "the Host header does not name this machine"
    return None


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


class AccessMiddleware:
    """Applies `Access` to every HTTP request (and refuses WebSockets the same way)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in self.access.exempt_paths or path.startswith(self.access.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        verdict = self.access.check(
            method=scope.get("method", "GET"),
            client_host=client[0] if client else None,
            headers=_headers(scope.get("headers", [])),
            query=scope.get("query_string", b"").decode("latin-1"),
        )
        if isinstance(verdict, GitHubLogin):
            verdict = await _gated(scope, verdict)
        if isinstance(verdict, Refusal) and path in self.access.brief_paths:
            scope.setdefault("state", {})["principal"] = None
            await self.app(scope, receive, send)
            return
        if isinstance(verdict, Refusal):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _refuse(send, _to_sign_in(scope, verdict, self.access))
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["principal"] = verdict
        await self.app(scope, receive, send)


async def _gated(scope: Scope, login: GitHubLogin) -> GitHubLogin | Refusal:
    """`login`, if the path is about a repository they can write to (or about none)."""
    app_state = getattr(scope["app"].state, "autocoder", None)
    if app_state is None:
        return Refusal(503, "autocoder is not ready to check GitHub permissions")
    gate = Gate(app_state.database.sessions, app_state.github)
    problem = await run_in_threadpool(gate.refusal, str(login), scope["path"])
    return login if problem is None else Refusal(403, problem)


def _to_sign_in(scope: Scope, refusal: Refusal, access: Access) -> Refusal:
    """A page asked for by a browser without sign-in goes to GitHub's sign-in instead."""
    if refusal.status != 401 or access.oauth is None or scope.get("method") != "GET":
        return refusal
    accept = _headers(scope.get("headers", [])).get("accept", "")
    if "text/html" not in accept:
        return refusal
    target = scope["path"]
    query = urlencode({"next": target}) if target != "/" else ""
    location = f"{LOGIN_PATH}?{query}" if query else LOGIN_PATH
    return Refusal(303, "sign in through GitHub", (("location", location),))


async def _refuse(send: Send, refusal: Refusal) -> None:
    body = json.dumps({"detail": refusal.message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *((name.encode(), value.encode()) for name, value in refusal.headers),
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
