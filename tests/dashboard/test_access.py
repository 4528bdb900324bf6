"""Who may use the dashboard and the API: loopback only when remote access is off, HTTP basic
sign-in for every route when it is on, CSRF token and same Origin for anything that changes
state. Unit rules here; every route over real HTTP in test_remote_routes.py."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from app.dashboard.access import LOCAL_PRINCIPAL, Access, Refusal
from tests.app.webhook_harness import make_settings

PASSWORD = "correct horse battery"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def check(
    access: Access,
    method: str = "GET",
    client: str | None = "127.0.0.1",
    query: str = "",
    **headers: str,
) -> str | Refusal:
    lower = {"host": "127.0.0.1:8000"} | {
        k.replace("_", "-").lower(): v for k, v in headers.items()
    }
    return access.check(method=method, client_host=client, headers=lower, query=query)


@pytest.mark.parametrize(
    ("client", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {"host": "[::1]:8000"}, True),
        ("127.0.0.1", {"host": "localhost:8000"}, True),
        (None, {}, True),  # a Unix socket
        ("10.1.2.3", {}, False),
        ("192.168.0.9", {"host": "localhost"}, False),
        ("127.0.0.1", {"x_forwarded_for": "203.0.113.9"}, False),  # through a proxy
        ("127.0.0.1", {"forwarded": "for=203.0.113.9"}, False),
        ("127.0.0.1", {"host": "evil.example:8000"}, False),  # DNS rebinding
    ],
)
def test_loopback_only_by_default(
    client: str | None, headers: dict[str, str], allowed: bool
) -> None:
    verdict = check(Access(), client=client, **headers)
    if allowed:
        assert verdict == LOCAL_PRINCIPAL
    else:
        assert isinstance(verdict, Refusal) and verdict.status == 403
        assert "AUTOCODER_ALLOW_REMOTE=1" in verdict.message


def test_remote_needs_basic_sign_in() -> None:
    access = Access(allow_remote=True, user="ops", password=PASSWORD)
    refused = check(access, client="203.0.113.9")
    assert isinstance(refused, Refusal) and refused.status == 401
    assert dict(refused.headers)["www-authenticate"].startswith("Basic ")
    for wrong in (basic("ops", "nope"), basic("root", PASSWORD), "Bearer x", "Basic !!!", "Basic"):
        assert isinstance(check(access, client="203.0.113.9", authorization=wrong), Refusal)
    assert check(access, client="203.0.113.9", authorization=basic("ops", PASSWORD)) == "ops"
    # on loopback too: remote access on means sign-in everywhere
    assert isinstance(check(access), Refusal)


def test_credentials_in_a_query_string_are_refused() -> None:
    access = Access(allow_remote=True, user="ops", password=PASSWORD)
    verdict = check(access, query=f"password={PASSWORD}", authorization=basic("ops", PASSWORD))
    assert isinstance(verdict, Refusal) and verdict.status == 400
    assert isinstance(check(Access(), query="token=abc"), Refusal)


def test_state_changes_need_the_csrf_token_and_same_origin() -> None:
    access = Access()
    token = access.csrf_token(LOCAL_PRINCIPAL)
    origin = "http://127.0.0.1:8000"
    assert check(access, "POST", x_csrf_token=token, origin=origin) == LOCAL_PRINCIPAL
    cases: list[dict[str, Any]] = [
        {"origin": origin},  # no token
        {"x_csrf_token": "0" * 64, "origin": origin},  # wrong token
        {"x_csrf_token": token},  # no Origin
        {"x_csrf_token": token, "origin": "null"},
        {"x_csrf_token": token, "origin": "http://evil.example"},
        {"x_csrf_token": Access().csrf_token(LOCAL_PRINCIPAL), "origin": origin},  # other server
    ]
    for headers in cases:
        verdict = check(access, "POST", **headers)
        assert isinstance(verdict, Refusal) and verdict.status == 403, headers
    # the token is bound to the person signed in
    remote = Access(allow_remote=True, user="ops", password=PASSWORD)
    assert remote.csrf_token("ops") != remote.csrf_token("other")


def test_settings_refuse_remote_access_without_sign_in(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="AUTOCODER_DASHBOARD_USER"):
        make_settings(tmp_path, allow_remote=True)
    with pytest.raises(ValidationError, match="AUTOCODER_DASHBOARD_PASSWORD"):
        make_settings(tmp_path, allow_remote=True, dashboard_user="ops")
    with pytest.raises(ValidationError, match="at least 12"):
        make_settings(tmp_path, allow_remote=True, dashboard_user="ops", dashboard_password="short")
    settings = make_settings(
        tmp_path, allow_remote=True, dashboard_user="ops", dashboard_password=PASSWORD
    )
    assert PASSWORD not in repr(settings)
