"""Sign-in through GitHub: the OAuth web flow of the GitHub App (its client id and secret).

`GET /auth/login?next=/path` sets a short-lived signed cookie holding a random `state` and
redirects to `{github_web}/login/oauth/authorize?client_id&redirect_uri&state`. GitHub sends the
browser back to `GET /auth/callback?code&state`: the state must equal the cookie's (so it was
this browser that started), and is used once (a replayed callback is refused even with its
cookie). The code is exchanged (`POST {github_web}/login/oauth/access_token`, in the body, never
a URL) for a user token, which is used once for `GET {api}/user` and then dropped: the signed-in
person is only their login, in a signed session cookie (HttpOnly, SameSite=Lax, Secure when the
public URL is https, `SESSION_TTL_S`). What they may see is decided per repository by
`gate.py`, with the App's installation token.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.dashboard import signing

log = logging.getLogger(__name__)

SESSION_COOKIE = "autocoder_session"
STATE_COOKIE = "autocoder_oauth_state"
SESSION_PURPOSE = "session"
STATE_PURPOSE = "oauth-state"
SESSION_TTL_S = 8 * 3600.0
STATE_TTL_S = 600.0
LOGIN_PATH = "/auth/login"
CALLBACK_PATH = "/auth/callback"
LOGOUT_PATH = "/auth/logout"
TIMEOUT_S = 10.0


class SignInFailed(Exception):
    """GitHub did not sign the person in; the message says why."""


@dataclass
class UsedStates:
    """States already spent on a callback, remembered until they would expire anyway."""

    clock: Callable[[], float] = time.time
    _spent: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, state: str) -> bool:
        """True the first time `state` is spent, False after."""
        now = self.clock()
        with self._lock:
            for old in [s for s, until in self._spent.items() if until <= now]:
                del self._spent[old]
            if state in self._spent:
                return False
            self._spent[state] = now + STATE_TTL_S
            return True


@dataclass(frozen=True)
class GitHubOAuth:
    client_id: str
    client_secret: str = field(repr=False)
    web_url: str  # https://github.com (the emulator: its base URL)
    api_url: str
    key: bytes = field(repr=False)  # signs the cookies
    public_url: str | None = None
    used_states: UsedStates = field(default_factory=UsedStates)
    clock: Callable[[], float] = time.time

    @property
    def secure(self) -> bool:
        return (self.public_url or "").startswith("https://")

    def session_login(self, cookie_header: str) -> str | None:
        """The login of a valid session cookie in a `Cookie` header, else None."""
        value = _cookie(cookie_header, SESSION_COOKIE)
        if value is None:
            return None
        data = signing.unsign(self.key, SESSION_PURPOSE, value, now=self.clock())
        login = data.get("login") if data else None
        return login if isinstance(login, str) and login else None

    def callback_url(self, request: Request) -> str:
        base = self.public_url or str(request.base_url)
        return base.rstrip("/") + CALLBACK_PATH

    def set_cookie(self, response: Response, name: str, value: str, ttl_s: float) -> None:
        response.set_cookie(
            name,
            value,
            max_age=int(ttl_s),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    async def login_of(self, code: str, redirect_uri: str) -> str:
        """Exchange the code for a user token, and the token for the person's login."""
        async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
            try:
                answer = await client.post(
                    f"{self.web_url}/login/oauth/access_token",
                    data={
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "code": code,
                        "redirect_uri": redirect_uri,
                    },
                    headers={"Accept": "application/json"},
                )
                body = answer.json() if answer.status_code == 200 else {}
                token = body.get("access_token") if isinstance(body, dict) else None
                if not isinstance(token, str) or not token:
                    error = body.get("error") if isinstance(body, dict) else None
                    why = error or answer.status_code
                    raise SignInFailed(f"GitHub refused the sign-in code ({why})")
                user = await client.get(
                    f"{self.api_url}/user",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Accept": "application/vnd.github+json",
                    },
                )
            except (httpx.HTTPError, ValueError) as error:
                why = type(error).__name__
                raise SignInFailed(f"GitHub could not be reached: {why}") from error
        login = user.json().get("login") if user.status_code == 200 else None
        if not isinstance(login, str) or not login:
            raise SignInFailed(f"GitHub did not say who signed in (GET /user: {user.status_code})")
        return login


def _cookie(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # http.cookies raises CookieError on malformed headers
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _local_path(next_path: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never `//host` or a URL)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    if "\\" in next_path or urlsplit(next_path).netloc:
        return "/"
    return next_path


def _oauth(request: Request) -> GitHubOAuth:
    oauth = getattr(request.app.state, "dashboard_oauth", None)
    if not isinstance(oauth, GitHubOAuth):
        raise HTTPException(404, "sign-in through GitHub is not configured")
    return oauth


router = APIRouter(include_in_schema=False)


@router.get(LOGIN_PATH)
def login(request: Request, next: str | None = None) -> RedirectResponse:
    oauth = _oauth(request)
    state = secrets.token_urlsafe(32)
    redirect_uri = oauth.callback_url(request)
    query = urlencode({"client_id": oauth.client_id, "redirect_uri": redirect_uri, "state": state})
    response = RedirectResponse(f"{oauth.web_url}/login/oauth/authorize?{query}", 302)
    cookie = signing.sign(
        oauth.key,
        STATE_PURPOSE,
        {"state": state, "next": _local_path(next)},
        now=oauth.clock(),
        ttl_s=STATE_TTL_S,
    )
    oauth.set_cookie(response, STATE_COOKIE, cookie, STATE_TTL_S)
    response.headers["cache-control"] = "no-store"
    return response


@router.get(CALLBACK_PATH)
async def callback(request: Request, code: str = "", state: str = "") -> Response:
    oauth = _oauth(request)
    started = _cookie(request.headers.get("cookie", ""), STATE_COOKIE)
    data = signing.unsign(oauth.key, STATE_PURPOSE, started, now=oauth.clock()) if started else None
    expected = data.get("state") if data else None
    if (
        not isinstance(expected, str)
        or not state
        or not secrets.compare_digest(state.encode(), expected.encode())
    ):
        raise HTTPException(400, "this sign-in was not started by this browser: sign in again")
    if not oauth.used_states.spend(state):
        raise HTTPException(400, "this sign-in link was already used: sign in again")
    if not code:
        raise HTTPException(400, "GitHub sent no code: sign in again")
    try:
        login_name = await oauth.login_of(code, oauth.callback_url(request))
    except SignInFailed as error:
        log.warning("GitHub sign-in failed: %s", error)
        raise HTTPException(403, f"{error}: sign in again") from error
    assert data is not None
    response = RedirectResponse(_local_path(str(data.get("next") or "/")), 303)
    session = signing.sign(
        oauth.key, SESSION_PURPOSE, {"login": login_name}, now=oauth.clock(), ttl_s=SESSION_TTL_S
    )
    oauth.set_cookie(response, SESSION_COOKIE, session, SESSION_TTL_S)
    response.delete_cookie(STATE_COOKIE, path="/")
    response.headers["cache-control"] = "no-store"
    log.info("%s signed in through GitHub", login_name)
    return response


@router.post(LOGOUT_PATH)
def logout(request: Request) -> Response:
    """Sign out (a state change: the middleware has checked the CSRF token)."""
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
