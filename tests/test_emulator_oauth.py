"""The emulator's OAuth web flow for a GitHub App: authorize redirects back with a code and the
state as given; the code buys one user token (never twice, never with a wrong secret or another
redirect_uri); that token answers `GET /user`, checked against GitHub's OpenAPI description."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.emulator import Emulator
from tests.emulator.oauth_client import new_client_secret, sign_in_browser
from tests.openapi.validator import OpenAPIValidator

CALLBACK = "http://127.0.0.1:9/auth/callback"


def _authorize(gh: Emulator, client_id: str, **extra: str) -> httpx.Response:
    params = {"client_id": client_id, "redirect_uri": CALLBACK, "state": "s-1", **extra}
    return httpx.get(f"{gh.base_url}/login/oauth/authorize", params=params, trust_env=False)


def _exchange(gh: Emulator, client_id: str, secret: str, code: str) -> dict[str, str]:
    answer = httpx.post(
        f"{gh.base_url}/login/oauth/access_token",
        data={"client_id": client_id, "client_secret": secret, "code": code},
        headers={"Accept": "application/json"},
        trust_env=False,
    )
    assert answer.status_code == 200
    body: dict[str, str] = answer.json()
    return body


def test_the_web_flow_signs_a_user_in_once(github_emulator: Emulator) -> None:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.add_user("alice")
    secret = new_client_secret(gh.base_url, app.id)

    assert _authorize(gh, app.client_id).status_code == 401  # nobody signed in to the browser
    assert _authorize(gh, "Iv1.nosuchapp", login="alice").status_code == 404
    sign_in_browser(gh.base_url, "alice")
    redirect = _authorize(gh, app.client_id)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    code = query["code"][0]

    assert _exchange(gh, app.client_id, "wrong", code)["error"] == "incorrect_client_credentials"
    token = _exchange(gh, app.client_id, secret, code)
    assert token["token_type"] == "bearer" and token["access_token"].startswith("ghu_")
    assert _exchange(gh, app.client_id, secret, code)["error"] == "bad_verification_code"

    user = httpx.get(
        f"{gh.base_url}/user",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        trust_env=False,
    )
    assert user.status_code == 200 and user.json()["login"] == "alice"
    assert OpenAPIValidator.load().check("GET", "/user", 200, None, user.json()) == []


def test_a_code_is_bound_to_its_redirect_uri(github_emulator: Emulator) -> None:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.add_user("bob")
    secret = new_client_secret(gh.base_url, app.id)
    code = parse_qs(urlsplit(_authorize(gh, app.client_id, login="bob").headers["location"]).query)[
        "code"
    ][0]
    answer = httpx.post(
        f"{gh.base_url}/login/oauth/access_token",
        data={
            "client_id": app.client_id,
            "client_secret": secret,
            "code": code,
            "redirect_uri": "http://evil.example/cb",
        },
        trust_env=False,
    )
    # no Accept: application/json → form-encoded, as GitHub answers
    assert parse_qs(answer.text)["error"] == ["redirect_uri_mismatch"]
