"""Every route of the App — pages, JSON API, the log stream, static files, commands — refuses a
request without sign-in when remote access is on (over real HTTP on loopback), and refuses a
client on another machine when it is off. Routes are enumerated from `app.routes`, so a route
added later is walked too."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route

from app.api.health import PATH as HEALTH_PATH
from app.api.work_orders import PREFIX as WORK_ORDERS_PREFIX
from app.main import create_app
from app.webhooks.route import PATH as WEBHOOK_PATH
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data

USER, PASSWORD = "ops", "correct horse battery"
PARAMS = {
    "owner": "octo",
    "repo": "hello",
    "job_id": "1",
    "session_id": "1",
    "number": "1",
    "command": "stop",
    "order_id": "1",
    "proposal_id": "1",
    "decision": "confirm",
}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS[m.group(1)], path)


def flat_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(prefix, route) for every route, also inside included routers (FastAPI keeps those as
    one entry that holds the router: `original_router` and its `include_context`)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from flat_routes(included.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix, route


def every_request(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) for every route the App serves, its parameters filled in."""
    seen = 0
    for prefix, route in flat_routes(app.routes):
        if isinstance(route, Mount):
            seen += 1
            yield "GET", f"{prefix}{route.path}/dashboard.js"
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or {"GET"}):
                seen += 1
                yield method, prefix + concrete(route.path)
        else:
            raise AssertionError(f"a route the walk does not know: {route!r}")
    assert seen >= 12, "fewer routes than the App has: the walk is broken"
    yield "GET", "/no/such/page"


def brief_health(response: Any, method: str) -> bool:  # an httpx or TestClient response
    """`/healthz` answers anyone, in brief (a probe's status, nothing of why)."""
    assert response.status_code == 200, response.text
    assert method == "HEAD" or response.json() == {"status": "unconfigured"}
    return True


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_remote_access_on_every_route_needs_sign_in(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, allow_remote=True, dashboard_user=USER, dashboard_password=PASSWORD
    )
    with running_app(settings) as (url, app):
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        data.add_issue(sessions, 1, "A feature")
        data.add_job(sessions, 1)
        requests = list(every_request(app))
        paths = {path for _, path in requests}
        for needed in (
            "/",
            "/repos/octo/hello",
            "/jobs/1",
            "/api/dashboard/jobs/1/events",
            "/api/dashboard/repos/octo/hello/issues/1/stop",
            "/healthz",
            "/metrics",
            "/api/repos/octo/hello/features",
            "/api/dashboard/repos/octo/hello/assistant",
            "/api/dashboard/repos/octo/hello/assistant/proposals/1/confirm",
        ):
            assert needed in paths, needed
        with httpx.Client(base_url=url, timeout=10) as client:
            for method, path in requests:
                if path.startswith(WORK_ORDERS_PREFIX):
                    continue  # remote sessions' own one-time bearer tokens (tests/app)
                for auth in ({}, basic(USER, "wrong password!"), basic("mona", PASSWORD)):
                    response = client.request(method, path, headers=auth)
                    if path == HEALTH_PATH and brief_health(response, method):
                        continue
                    assert response.status_code == 401, (method, path, auth, response.text)
                    assert response.headers["www-authenticate"].startswith("Basic ")
                    assert "octo" not in response.text and "A feature" not in response.text
            # GitHub's webhook route has its own authentication: a signature, refused without
            unsigned = client.post(WEBHOOK_PATH, content=b"{}", headers={"X-GitHub-Event": "ping"})
            assert unsigned.status_code in (400, 401, 403)

            signed_in = basic(USER, PASSWORD)
            health = client.get(HEALTH_PATH, headers=signed_in).json()
            assert health["status"] == "unconfigured" and "missing" in health["github_app"]
            assert client.get("/repos/octo/hello", headers=signed_in).status_code == 200
            board = client.get("/api/dashboard/repos/octo/hello/board", headers=signed_in)
            assert board.json()["total"] == 1
            # signed in, but no CSRF token: a state change is still refused
            stop = "/api/dashboard/repos/octo/hello/issues/1/stop"
            refused = client.post(stop, headers={**signed_in, "Origin": url})
            assert refused.status_code == 403
            assert data.job_row(sessions, 1).state == "running"


def test_loopback_only_every_route_refuses_another_machine(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), run_workers=False, run_reconcile=False)
    with TestClient(app, client=("198.51.100.7", 40000)) as client:
        for method, path in every_request(app):
            if path.startswith(WORK_ORDERS_PREFIX):
                continue  # remote sessions' own one-time bearer tokens (tests/app)
            response = client.request(method, path)
            if path == HEALTH_PATH and brief_health(response, method):
                continue
            assert response.status_code == 403, (method, path)
            if method != "HEAD":
                assert "AUTOCODER_ALLOW_REMOTE" in response.json()["detail"]
