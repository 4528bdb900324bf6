"""The emulator refuses bad app JWTs and bad tokens with GitHub's statuses and messages."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.emulator import AppInfo, Emulator, app_jwt
from tests.emulator.auth import generate_key_pair

EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXP_PAST = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
IAT_FUTURE = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)
UNDECODABLE = "A JSON web token could not be decoded"


@pytest.fixture
def setup(github_emulator: Emulator) -> tuple[Emulator, AppInfo, int]:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.create_repo("octo/one", private=True)
    gh.create_repo("octo/two", private=True)
    installation_id = gh.install(app.id, "octo/one")
    return gh, app, installation_id


def signed(app: AppInfo, *, iat: int, exp: int, key: str | None = None) -> str:
    claims = {"iat": iat, "exp": exp, "iss": str(app.id)}
    return jwt.encode(claims, key or app.private_key, algorithm="RS256")


def get(gh: Emulator, path: str, authorization: str) -> httpx.Response:
    return httpx.get(gh.base_url + path, headers={"Authorization": authorization})


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong key", UNDECODABLE),
        ("exp 20 min ahead", EXP_TOO_FAR),
        ("expired", EXP_PAST),
        ("iat in the future", IAT_FUTURE),
        ("not a jwt", UNDECODABLE),
    ],
)
def test_bad_app_jwt_is_refused(
    setup: tuple[Emulator, AppInfo, int], case: str, message: str
) -> None:
    gh, app, installation_id = setup
    now = int(time.time())
    token = {
        "wrong key": lambda: signed(app, iat=now - 60, exp=now + 300, key=generate_key_pair()[0]),
        "exp 20 min ahead": lambda: signed(app, iat=now - 60, exp=now + 1200),
        "expired": lambda: signed(app, iat=now - 700, exp=now - 100),
        "iat in the future": lambda: signed(app, iat=now + 300, exp=now + 500),
        "not a jwt": lambda: "eyJhbGciOi.broken.token",
    }[case]()
    for response in (
        get(gh, "/app", f"Bearer {token}"),
        httpx.post(
            f"{gh.base_url}/app/installations/{installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {token}"},
        ),
    ):
        assert response.status_code == 401
        assert response.json()["message"] == message
        assert response.json()["documentation_url"].startswith("https://docs.github.com/")


def test_good_jwt_gets_an_installation_token(setup: tuple[Emulator, AppInfo, int]) -> None:
    gh, app, installation_id = setup
    response = httpx.post(
        f"{gh.base_url}/app/installations/{installation_id}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(app)}"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("ghs_")
    assert body["repository_selection"] == "selected"
    assert body["permissions"]["contents"] == "write"
    assert body["expires_at"].endswith("Z")
    assert get(gh, "/app", f"Bearer {app_jwt(app)}").json()["slug"] == "autocoder"


def test_installation_token_expires_after_an_hour(setup: tuple[Emulator, AppInfo, int]) -> None:
    gh, app, installation_id = setup
    token = gh.installation_token(app, installation_id)
    assert get(gh, "/repos/octo/one", f"token {token}").status_code == 200
    gh.advance_clock(59 * 60)
    assert get(gh, "/repos/octo/one", f"token {token}").status_code == 200
    gh.advance_clock(61)
    response = get(gh, "/repos/octo/one", f"token {token}")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
    # a new token (signed with a real-time JWT) works again after the clock moved
    fresh = gh.installation_token(app, installation_id)
    assert get(gh, "/repos/octo/one", f"Bearer {fresh}").status_code == 200


def test_unknown_token_is_bad_credentials(setup: tuple[Emulator, AppInfo, int]) -> None:
    gh, _, _ = setup
    for header in ("token ghs_unknown", "Bearer ghs_unknown", "Basic eC1hY2Nlc3MtdG9rZW46bm9wZQ=="):
        response = get(gh, "/repos/octo/one", header)
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"


def test_token_is_scoped_to_the_installation_repositories(
    setup: tuple[Emulator, AppInfo, int],
) -> None:
    gh, app, installation_id = setup
    token = gh.installation_token(app, installation_id)
    assert get(gh, "/repos/octo/one", f"token {token}").status_code == 200
    response = get(gh, "/repos/octo/two", f"token {token}")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
    listed = get(gh, "/installation/repositories", f"token {token}").json()
    assert [r["full_name"] for r in listed["repositories"]] == ["octo/one"]


def test_personal_token_works_with_either_scheme(setup: tuple[Emulator, AppInfo, int]) -> None:
    gh, _, _ = setup
    user = gh.add_user("alice", "write", "octo/one", token=True)
    assert user.token is not None
    for header in (f"token {user.token}", f"Bearer {user.token}"):
        response = get(gh, "/user", header)
        assert response.status_code == 200
        assert response.json()["login"] == "alice"
    assert get(gh, "/repos/octo/two", f"token {user.token}").status_code == 404
