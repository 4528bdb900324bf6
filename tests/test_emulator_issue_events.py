"""The emulator's issue events and timeline: who added or removed a label, and when, through
the REST API (as an installation: the App's bot) or the control API (as a person); every answer
matches GitHub's OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.emulator import AppInfo, Emulator
from tests.openapi.validator import OpenAPIValidator

REPO = "octo/hello"


@pytest.fixture
def api(github_emulator: Emulator) -> Iterator[tuple[Emulator, AppInfo, httpx.Client]]:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.create_repo(REPO, {"README.md": "hi\n"})
    installation_id = gh.install(app.id, REPO)
    gh.add_user("mona", "write", REPO)
    gh.add_user("trina", "triage", REPO)
    token = gh.installation_token(app, installation_id)
    with httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"}) as client:
        yield gh, app, client


def test_label_changes_are_listed_with_their_actor_oldest_first(
    api: tuple[Emulator, AppInfo, httpx.Client],
) -> None:
    gh, app, client = api
    number = gh.act_as("mona").open_issue(REPO, "Labelled", labels=["bug"])["number"]
    gh.act_as("trina").label_issue(REPO, number, "autocoder")
    gh.act_as("mona").unlabel_issue(REPO, number, "autocoder")
    added = client.post(f"/repos/{REPO}/issues/{number}/labels", json={"labels": ["autocoder"]})
    assert added.status_code == 200

    for tail in ("events", "timeline"):
        listed = client.get(f"/repos/{REPO}/issues/{number}/{tail}")
        assert listed.status_code == 200
        events = listed.json()
        assert [(e["event"], e["label"]["name"], e["actor"]["login"]) for e in events] == [
            ("labeled", "bug", "mona"),
            ("labeled", "autocoder", "trina"),
            ("unlabeled", "autocoder", "mona"),
            ("labeled", "autocoder", app.bot_login),
        ], tail
        assert [e["performed_via_github_app"] is not None for e in events] == [
            False,
            False,
            False,
            True,
        ]
        assert events[-1]["performed_via_github_app"]["id"] == app.id
        assert len({e["id"] for e in events}) == 4
        assert all(e["created_at"].endswith("Z") for e in events)


def test_events_paginate_and_answer_304_when_unchanged(
    api: tuple[Emulator, AppInfo, httpx.Client],
) -> None:
    gh, _, client = api
    number = gh.act_as("mona").open_issue(REPO, "Many labels")["number"]
    gh.act_as("mona").label_issue(REPO, number, "a", "b", "c")
    first = client.get(f"/repos/{REPO}/issues/{number}/events", params={"per_page": 2})
    assert [e["label"]["name"] for e in first.json()] == ["a", "b"]
    second = client.get(first.links["next"]["url"])
    assert [e["label"]["name"] for e in second.json()] == ["c"]

    url = f"/repos/{REPO}/issues/{number}/events"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    gh.act_as("mona").unlabel_issue(REPO, number, "b")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert [e["event"] for e in changed.json()][-1] == "unlabeled"


def test_unknown_issue_is_404(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    _, _, client = api
    assert client.get(f"/repos/{REPO}/issues/999/events").status_code == 404
    assert client.get(f"/repos/{REPO}/issues/999/timeline").status_code == 404


def test_answers_match_githubs_description(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    gh, _, client = api
    number = gh.act_as("mona").open_issue(REPO, "Checked")["number"]
    gh.act_as("trina").label_issue(REPO, number, "autocoder")
    gh.act_as("mona").unlabel_issue(REPO, number, "autocoder")
    client.post(f"/repos/{REPO}/issues/{number}/labels", json={"labels": ["autocoder"]})
    gh.clear_requests()
    client.get(f"/repos/{REPO}/issues/{number}/events")
    client.get(f"/repos/{REPO}/issues/{number}/timeline", params={"per_page": 1})
    client.get(f"/repos/{REPO}/issues/999/timeline")

    spec = OpenAPIValidator.load()
    records = [r for r in gh.requests() if "/issues/" in r.path]
    assert [spec.match(r.method, r.path) for r in records] == [
        "issues/list-events",
        "issues/list-events-for-timeline",
        "issues/list-events-for-timeline",
    ]
    assert [r.status for r in records] == [200, 200, 404]
    problems = [
        f"{r.method} {r.path}: {problem}"
        for r in records
        for problem in spec.check(r.method, r.path, r.status, r.request_body, r.response_body)
    ]
    assert problems == []


def test_the_validator_rejects_an_event_without_its_actor(
    api: tuple[Emulator, AppInfo, httpx.Client],
) -> None:
    gh, _, client = api
    number = gh.act_as("mona").open_issue(REPO, "Broken")["number"]
    gh.act_as("mona").label_issue(REPO, number, "autocoder")
    events = client.get(f"/repos/{REPO}/issues/{number}/events").json()
    del events[0]["actor"]
    spec = OpenAPIValidator.load()
    assert spec.check("GET", f"/repos/{REPO}/issues/{number}/events", 200, None, events)
