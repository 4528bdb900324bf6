"""Sign-in through GitHub (the App's OAuth web flow, on the emulator) with remote access on, over
real HTTP on loopback: every route refuses a request without sign-in; a person with read access
sees no repository they cannot write to and every route about it (pages, API, streams, actions)
answers 403; a person with write access sees and acts; a forged or replayed `state` is refused;
and a write user signs in in headless Chromium and sees their repository's board."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app import mirror
from app.api.health import PATH as HEALTH_PATH
from app.api.work_orders import PREFIX as WORK_ORDERS_PREFIX
from app.dashboard.oauth import CALLBACK_PATH, LOGIN_PATH, LOGOUT_PATH, SESSION_COOKIE
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data
from tests.dashboard.browser import chromium, screenshot_path
from tests.dashboard.test_remote_routes import every_request
from tests.emulator import Emulator
from tests.emulator.oauth_client import new_client_secret, sign_in_browser

REPO, OTHER = "octo/hello", "octo/other"
SIGN_IN_ROUTES = {LOGIN_PATH, CALLBACK_PATH}


@contextmanager
def dashboard(
    gh: Emulator, tmp_path: Path, **overrides: Any
) -> Iterator[tuple[str, Any, list[int]]]:
    """The App with remote access on and GitHub sign-in; alice writes to octo/hello, bob only
    reads it (and writes to octo/other). Yields (url, app, job ids)."""
    app_info = gh.register_app("autocoder")
    gh.create_repo(REPO, {"README.md": "hi\n"}, private=True)
    gh.create_repo(OTHER, {"README.md": "hi\n"}, private=True)
    installation = gh.install(app_info.id, [REPO, OTHER])
    gh.add_user("alice", "write", REPO)
    gh.add_user("bob", "read", REPO)
    gh.set_permission(OTHER, "bob", "write")
    settings = make_settings(
        tmp_path,
        github_app_id=app_info.id,
        github_private_key=app_info.private_key,
        github_api_url=gh.api_url,
        allow_remote=True,
        github_client_id=app_info.client_id,
        github_client_secret=new_client_secret(gh.base_url, app_info.id),
        **overrides,
    )
    with running_app(settings) as (url, app):
        sessions = app.state.autocoder.database.sessions
        with sessions() as db, db.begin():
            mirror.upsert_installation(
                db, {"id": installation, "account": {"login": "octo", "type": "Organization"}}
            )
            for n, name in enumerate((REPO, OTHER), start=1):
                mirror.upsert_repository_json(
                    db, {"id": n, "full_name": name, "private": True}, installation
                )
        data.add_issue(sessions, 1, "Secret feature", repository=REPO)
        data.add_issue(sessions, 1, "Other feature", repository=OTHER)
        jobs = [data.add_job(sessions, 1, repository=name) for name in (REPO, OTHER)]
        yield url, app, jobs


@contextmanager
def sign_in(gh: Emulator, url: str, login: str) -> Iterator[httpx.Client]:
    """A client signed in as `login` through the whole web flow (cookies kept)."""
    sign_in_browser(gh.base_url, login)
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        home = client.get(LOGIN_PATH, follow_redirects=True)
        assert home.status_code == 200 and str(home.url).rstrip("/") == url, home.text
        assert f"<strong>{login}</strong>" in home.text
        yield client


def csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/").text)
    assert match is not None
    return match.group(1)


def test_every_route_refuses_without_sign_in(github_emulator: Emulator, tmp_path: Path) -> None:
    with (
        dashboard(github_emulator, tmp_path) as (url, app, _),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as client,
    ):
        walked = 0
        for method, path in every_request(app):
            if path.startswith(WORK_ORDERS_PREFIX) or path in SIGN_IN_ROUTES:
                continue  # their own bearer tokens (tests/app); the sign-in itself (below)
            for cookies in ({}, {SESSION_COOKIE: "eyJsb2dpbiI6ImFsaWNlIn0.forged"}):
                client.cookies.clear()
                client.cookies.update(cookies)
                answer = client.request(method, path)
                if path == HEALTH_PATH:  # a probe's answer: the status alone
                    assert answer.status_code == 200 and set(answer.json()) == {"status"}
                    continue
                assert answer.status_code == 401, (method, path, answer.text)
                assert "www-authenticate" not in answer.headers  # no basic auth configured
                assert "Secret feature" not in answer.text and REPO not in answer.text
                walked += 1
        assert walked >= 30
        client.cookies.clear()
        # a browser asking for a page is sent to GitHub's sign-in, and comes back there
        page = client.get("/repos/octo/hello", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == f"{LOGIN_PATH}?next=%2Frepos%2Focto%2Fhello"
        start = client.get(page.headers["location"])
        assert start.headers["location"].startswith(f"{github_emulator.base_url}/login/oauth/")
        assert "HttpOnly" in start.headers["set-cookie"]
        assert "samesite=lax" in start.headers["set-cookie"].lower()


def test_read_only_user_sees_and_does_nothing(github_emulator: Emulator, tmp_path: Path) -> None:
    with (
        dashboard(github_emulator, tmp_path) as (url, app, jobs),
        sign_in(github_emulator, url, "bob") as bob,
    ):
        listed = bob.get("/api/dashboard/installations").json()["installations"]
        assert [inst["repositories"] for inst in listed] == [[OTHER]]  # writes there only
        assert bob.get(f"/api/dashboard/repos/{OTHER}/board").json()["total"] == 1
        headers = {"X-CSRF-Token": csrf(bob), "Origin": url}
        refused = 0
        for method, path in every_request(app):
            if path.startswith(WORK_ORDERS_PREFIX) or path in {*SIGN_IN_ROUTES, LOGOUT_PATH}:
                continue
            answer = bob.request(method, path, headers=headers)
            if path in ("/", "/api/dashboard/installations", "/healthz", "/openapi.json") or (
                path.startswith("/static/")
            ):
                assert answer.status_code == 200, (method, path)
            else:  # octo/hello's pages, API, stream, actions; job 1 is octo/hello's too
                assert answer.status_code == 403, (method, path, answer.text)
                refused += 1
            assert "Secret feature" not in answer.text
        assert refused >= 12
        # a job of another repository by its id: the same refusal
        assert bob.get(f"/api/dashboard/jobs/{jobs[0]}").status_code == 403
        assert bob.get(f"/api/dashboard/jobs/{jobs[1]}").status_code == 200
        assert data.job_row(app.state.autocoder.database.sessions, jobs[0]).state == "running"
        # signing out (a state change: CSRF token needed) ends the session
        assert bob.post(LOGOUT_PATH, headers={"Origin": url}).status_code == 403
        assert bob.post(LOGOUT_PATH, headers=headers).status_code == 303
        assert bob.get("/api/dashboard/installations").status_code == 401


def test_write_user_sees_the_board_and_acts(github_emulator: Emulator, tmp_path: Path) -> None:
    with (
        dashboard(github_emulator, tmp_path) as (url, app, jobs),
        sign_in(github_emulator, url, "alice") as alice,
    ):
        listed = alice.get("/api/dashboard/installations").json()["installations"]
        assert [inst["repositories"] for inst in listed] == [[REPO]]
        assert alice.get(f"/api/dashboard/repos/{REPO}/board").json()["total"] == 1
        assert alice.get(f"/api/dashboard/repos/{OTHER}/board").status_code == 403
        assert alice.get("/metrics").status_code == 403  # the operator's
        stop = f"/api/dashboard/repos/{REPO}/issues/1/stop"
        assert alice.post(stop, headers={"Origin": url}).status_code == 403  # no CSRF token
        done = alice.post(stop, headers={"X-CSRF-Token": csrf(alice), "Origin": url})
        assert done.status_code == 200, done.text
        job = data.job_row(app.state.autocoder.database.sessions, jobs[0])
        assert job.cancel_requested or job.state == "cancelled"
        # the user token is nowhere the browser sees: only a signed login in the cookie
        assert "ghu_" not in alice.cookies[SESSION_COOKIE]


def test_basic_sign_in_stays_beside_github(github_emulator: Emulator, tmp_path: Path) -> None:
    password = "correct horse battery"
    with dashboard(
        github_emulator, tmp_path, dashboard_user="ops", dashboard_password=password
    ) as (url, _, _):
        anonymous = httpx.get(f"{url}/api/dashboard/installations", trust_env=False)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic ")
        operator = httpx.get(
            f"{url}/api/dashboard/installations", auth=("ops", password), trust_env=False
        )
        assert [i["repositories"] for i in operator.json()["installations"]] == [[REPO, OTHER]]


def _callback_of(client: httpx.Client) -> str:
    """Start a sign-in and let GitHub approve it; the callback URL it sends the browser to."""
    start = client.get(LOGIN_PATH)
    approved = httpx.get(start.headers["location"], trust_env=False)
    assert approved.status_code == 302
    return str(approved.headers["location"])


def test_forged_or_replayed_state_is_refused(github_emulator: Emulator, tmp_path: Path) -> None:
    gh = github_emulator
    with dashboard(gh, tmp_path) as (url, _, _):
        sign_in_browser(gh.base_url, "alice")
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as browser:
            callback = _callback_of(browser)
            code = parse_qs(urlsplit(callback).query)["code"][0]
            forged = browser.get(CALLBACK_PATH, params={"code": code, "state": "forged"})
            assert forged.status_code == 400 and SESSION_COOKIE not in forged.cookies
            # the right state, from a browser that did not start this sign-in
            with httpx.Client(timeout=10, trust_env=False) as other:
                assert other.get(callback).status_code == 400
            saved = dict(browser.cookies)
            assert browser.get(callback).status_code == 303  # the genuine one signs in
            assert SESSION_COOKIE in browser.cookies
            # replayed, even with the state cookie put back
            with httpx.Client(timeout=10, trust_env=False, cookies=saved) as replay:
                answer = replay.get(callback)
                assert answer.status_code == 400 and "already used" in answer.text
                assert SESSION_COOKIE not in replay.cookies


@pytest.mark.slow
def test_write_user_signs_in_in_chromium(github_emulator: Emulator, tmp_path: Path) -> None:
    with dashboard(github_emulator, tmp_path) as (url, _, _), chromium() as browser:
        sign_in_browser(github_emulator.base_url, "alice")
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/repos/{REPO}")  # → GitHub's authorize → callback → back here
        page.wait_for_selector('[data-issue="1"]', timeout=30_000)
        assert page.url == f"{url}/repos/{REPO}"
        assert page.text_content(".who strong") == "alice"
        assert "Secret feature" in (page.text_content("main") or "")
        [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        page.screenshot(path=str(screenshot_path("oauth-board.png")), full_page=True)
        page.goto(f"{url}/")
        page.wait_for_selector(f'a[href="/repos/{REPO}"]', timeout=10_000)
        assert page.locator(f'a[href="/repos/{OTHER}"]').count() == 0
