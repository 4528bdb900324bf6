"""GitHub's OAuth web flow for a GitHub App's user sign-in, as github.com answers it.

- `GET /login/oauth/authorize?client_id&redirect_uri&state`: on GitHub a person signs in and
  approves; here the person is named by `login=` in the query or by the control API
  (`POST /_emulator/oauth/web-user {"login"}`: "who is signed in to the browser"), and the answer
  is a redirect to `redirect_uri?code=…&state=…` (the state given back as it came).
- `POST /login/oauth/access_token` (form or JSON: client_id, client_secret, code, redirect_uri):
  a user token (`ghu_…`) for a code, once; errors come back as GitHub sends them — status 200
  with `error` / `error_description` — and JSON only when asked for by `Accept`.
- `POST /_emulator/apps/{app_id}/client-secrets`: a new client secret for the App (GitHub's
  "Generate a new client secret" button).

These are web-host paths (github.com, not api.github.com): the API middleware lets them through
untouched (no rate limit, not in the REST request log). The user token then answers
`GET /user` like any other user token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..auth import new_token
from ..core import Emu
from ..errors import GitHubError, not_found
from ..state import App, Token
from .common import json_object, respond

PREFIX = "/login/oauth/"
CODE_LIFETIME = timedelta(minutes=10)
USER_TOKEN_LIFETIME = timedelta(hours=8)
ERROR_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"

router = APIRouter()


@dataclass
class Grant:
    client_id: str
    login: str
    redirect_uri: str
    expires_at: datetime
    used: bool = False


@dataclass
class OAuthWeb:
    """The web flow's own state: client secrets per App, codes, the browser's signed-in user."""

    client_secrets: dict[str, list[str]] = field(default_factory=dict)  # client_id -> secrets
    grants: dict[str, Grant] = field(default_factory=dict)  # code -> grant
    web_user: str | None = None


def _web(request: Request) -> OAuthWeb:
    web = getattr(request.app.state, "oauth_web", None)
    if not isinstance(web, OAuthWeb):
        web = request.app.state.oauth_web = OAuthWeb()
    return web


def _emu(request: Request) -> Emu:
    emu: Emu = request.app.state.emu
    return emu


def _app_by_client(emu: Emu, client_id: str) -> App | None:
    return next((a for a in emu.world.apps.values() if a.client_id == client_id), None)


def _page(status: int, text: str) -> HTMLResponse:
    from html import escape

    return HTMLResponse(f"<!doctype html><title>GitHub</title><p>{escape(text)}</p>", status)


@router.get("/login/oauth/authorize", include_in_schema=False)
async def authorize(request: Request) -> Response:
    emu, web = _emu(request), _web(request)
    query = request.query_params
    app = _app_by_client(emu, query.get("client_id", ""))
    if app is None:
        return _page(404, "Not Found: no application has this client_id")
    redirect_uri = query.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _page(400, "The redirect_uri MUST be an absolute http(s) URL.")
    login = query.get("login") or web.web_user
    user = emu.world.user(login) if login else None
    if user is None:
        return _page(401, "Sign in to GitHub to continue (nobody is signed in).")
    code = secrets.token_hex(10)
    web.grants[code] = Grant(
        app.client_id, user.login, redirect_uri, emu.clock.now() + CODE_LIFETIME
    )
    back = [*parse_qsl(parts.query, keep_blank_values=True), ("code", code)]
    if "state" in query:
        back.append(("state", query["state"]))
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(back))), status_code=302)


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_object(request)
        return {k: v for k, v in body.items() if isinstance(v, str)}
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


def _answer(request: Request, body: dict[str, Any]) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(body)
    return Response(urlencode(body), media_type="application/x-www-form-urlencoded")


def _error(request: Request, error: str, description: str) -> Response:
    body = {"error": error, "error_description": description, "error_uri": ERROR_DOCS}
    return _answer(request, body)


@router.post("/login/oauth/access_token", include_in_schema=False)
async def access_token(request: Request) -> Response:
    emu, web = _emu(request), _web(request)
    form = await _form(request)
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    app = _app_by_client(emu, client_id)
    known = web.client_secrets.get(client_id, [])
    if app is None or not any(hmac.compare_digest(secret, s) for s in known):
        return _error(
            request,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    grant = web.grants.get(form.get("code", ""))
    redirect_uri = form.get("redirect_uri")
    if (
        grant is None
        or grant.used
        or grant.client_id != client_id
        or emu.clock.now() >= grant.expires_at
    ):
        return _error(request, "bad_verification_code", "The code passed is incorrect or expired.")
    if redirect_uri is not None and redirect_uri != grant.redirect_uri:
        return _error(
            request,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        )
    grant.used = True
    now = emu.clock.now()
    token = Token(
        value=new_token("ghu_"),
        kind="user",
        created_at=now,
        expires_at=now + USER_TOKEN_LIFETIME,
        user_login=grant.login,
    )
    emu.world.tokens[token.value] = token
    return _answer(
        request,
        {
            "access_token": token.value,
            "expires_in": int(USER_TOKEN_LIFETIME.total_seconds()),
            "token_type": "bearer",
            "scope": "",
        },
    )


# -- control API ------------------------------------------------------------------------------


@router.post("/_emulator/apps/{app_id:int}/client-secrets", include_in_schema=False)
async def new_client_secret(app_id: int, request: Request) -> object:
    app = _emu(request).world.apps.get(app_id)
    if app is None:
        raise not_found("app not found")
    secret = secrets.token_hex(20)
    _web(request).client_secrets.setdefault(app.client_id, []).append(secret)
    return respond({"client_id": app.client_id, "client_secret": secret}, status=201)


@router.post("/_emulator/oauth/web-user", include_in_schema=False)
async def sign_in_web_user(request: Request) -> object:
    """Who is signed in to github.com in "the browser" (null: nobody)."""
    body = await json_object(request)
    login = body.get("login")
    if login is not None and (
        not isinstance(login, str) or _emu(request).world.user(login) is None
    ):
        raise GitHubError(422, "'login' must name an existing user, or be null")
    _web(request).web_user = login
    return respond({"login": login})
