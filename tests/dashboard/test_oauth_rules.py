"""The pure rules under GitHub sign-in: signed cookies (forged, expired, for another purpose:
refused), what each path is about (a path without a rule is closed), where a sign-in may send
the browser afterwards, and the session cookie's flags."""

from __future__ import annotations

import pytest
from fastapi.responses import Response

from app.dashboard import signing
from app.dashboard.gate import OfJob, OfRepository, OfSession, Open, scope_of
from app.dashboard.oauth import SESSION_COOKIE, GitHubOAuth, _local_path

KEY = b"k" * 32


def test_signed_values_are_refused_when_forged_expired_or_misused() -> None:
    value = signing.sign(KEY, "session", {"login": "alice"}, now=1000, ttl_s=60)
    assert signing.unsign(KEY, "session", value, now=1059) == {"login": "alice", "exp": 1060}
    assert signing.unsign(KEY, "session", value, now=1060) is None  # expired
    assert signing.unsign(KEY, "oauth-state", value, now=1000) is None  # another cookie's
    assert signing.unsign(b"x" * 32, "session", value, now=1000) is None  # another server's
    payload, _, mac = value.partition(".")
    forged = signing.sign(KEY, "session", {"login": "root"}, now=1000, ttl_s=60).partition(".")[0]
    assert signing.unsign(KEY, "session", f"{forged}.{mac}", now=1000) is None
    for junk in ("", ".", "abc", f"{payload}.", "!!.!!"):
        assert signing.unsign(KEY, "session", junk, now=1000) is None


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/", Open()),
        ("/api/dashboard/installations", Open()),
        ("/static/dashboard/dashboard.js", Open()),
        ("/repos/octo/hello", OfRepository("octo/hello")),
        ("/api/dashboard/repos/octo/hello/issues/3/stop", OfRepository("octo/hello")),
        ("/api/dashboard/repos/octo/hello/assistant/messages", OfRepository("octo/hello")),
        ("/api/repos/octo/hello/features", OfRepository("octo/hello")),
        ("/jobs/12", OfJob(12)),
        ("/api/dashboard/jobs/12/events", OfJob(12)),
        ("/api/sessions/4", OfSession(4)),
        ("/metrics", None),
        ("/repos/octo", None),
        ("/api/dashboard/something-new", None),
    ],
)
def test_every_path_is_about_something_or_closed(path: str, scope: object) -> None:
    assert scope_of(path) == scope


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/repos/octo/hello", "/repos/octo/hello"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("repos", "/"),
    ],
)
def test_after_sign_in_the_browser_stays_on_this_site(asked: str | None, went: str) -> None:
    assert _local_path(asked) == went


@pytest.mark.parametrize(("public_url", "secure"), [("https://ac.example", True), (None, False)])
def test_the_session_cookie_is_httponly_lax_and_secure_on_https(
    public_url: str | None, secure: bool
) -> None:
    oauth = GitHubOAuth(
        "Iv1.x",
        "secret",
        "https://github.com",
        "https://api.github.com",
        KEY,
        public_url=public_url,
    )
    response = Response()
    oauth.set_cookie(response, SESSION_COOKIE, "v", 60)
    flags = response.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert ("; secure" in flags) is secure
