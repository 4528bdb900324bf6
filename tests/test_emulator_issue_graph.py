"""The emulator's issue graph: sub-issues (add, list, reorder, remove) and issue dependencies
(blocked by, blocking), GitHub's refusals, and the `sub_issues` / `issue_dependencies` webhooks;
every request, answer and payload matches GitHub's OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulator import AppInfo, Emulator
from tests.emulator.receiver import WebhookReceiver
from tests.openapi.validator import OpenAPIValidator

REPO = "acme/app"

World = tuple[Emulator, AppInfo, httpx.Client]


@pytest.fixture
def api(github_emulator: Emulator, webhook_sink: WebhookReceiver) -> Iterator[World]:
    gh = github_emulator
    app = gh.register_app("autocoder", webhook_sink.url)
    gh.create_repo(REPO, {"README.md": "hi\n"}, owner_type="Organization")
    installation_id = gh.install(app.id, REPO)
    gh.add_user("mona", "write", REPO)
    gh.add_user("rita", "read", REPO)
    token = gh.installation_token(app, installation_id)
    with httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"}) as client:
        yield gh, app, client


def _open(client: httpx.Client, title: str) -> dict[str, Any]:
    answer = client.post(f"/repos/{REPO}/issues", json={"title": title})
    assert answer.status_code == 201
    data: dict[str, Any] = answer.json()
    return data


def _problems(gh: Emulator) -> list[str]:
    spec = OpenAPIValidator.load()
    return [
        f"{r.method} {r.path} {r.status}: {problem}"
        for r in gh.requests()
        if "/issues" in r.path
        for problem in spec.check(r.method, r.path, r.status, r.request_body, r.response_body)
    ]


def test_sub_issues_are_added_listed_reordered_and_removed(api: World) -> None:
    gh, _, client = api
    spec, a, b, c = (_open(client, t) for t in ("Spec", "A", "B", "C"))
    base = f"/repos/{REPO}/issues/{spec['number']}"
    for child in (a, b, c):
        added = client.post(f"{base}/sub_issues", json={"sub_issue_id": child["id"]})
        assert added.status_code == 201
        assert added.json()["number"] == spec["number"]
    assert added.json()["sub_issues_summary"] == {
        "total": 3,
        "completed": 0,
        "percent_completed": 0,
    }
    listed = client.get(f"{base}/sub_issues")
    assert [i["title"] for i in listed.json()] == ["A", "B", "C"]
    assert listed.json()[0]["parent_issue_url"].endswith(f"/issues/{spec['number']}")

    moved = client.patch(
        f"{base}/sub_issues/priority", json={"sub_issue_id": c["id"], "before_id": a["id"]}
    )
    assert moved.status_code == 200
    assert [i["title"] for i in client.get(f"{base}/sub_issues").json()] == ["C", "A", "B"]
    client.patch(f"{base}/sub_issues/priority", json={"sub_issue_id": c["id"], "after_id": b["id"]})
    assert [i["title"] for i in client.get(f"{base}/sub_issues").json()] == ["A", "B", "C"]

    gh.act_as("mona").close_issue(REPO, a["number"])
    summary = client.get(base).json()["sub_issues_summary"]
    assert summary == {"total": 3, "completed": 1, "percent_completed": 33}

    removed = client.request("DELETE", f"{base}/sub_issue", json={"sub_issue_id": b["id"]})
    assert removed.status_code == 200
    assert [i["title"] for i in client.get(f"{base}/sub_issues").json()] == ["A", "C"]
    assert client.get(f"/repos/{REPO}/issues/{b['number']}").json()["parent_issue_url"] is None
    assert _problems(gh) == []


def test_sub_issue_refusals_are_githubs(api: World) -> None:
    gh, _, client = api
    spec, other, child = (_open(client, t) for t in ("Spec", "Other", "Child"))
    base = f"/repos/{REPO}/issues/{spec['number']}"
    assert client.post(f"{base}/sub_issues", json={"sub_issue_id": child["id"]}).status_code == 201
    again = client.post(f"{base}/sub_issues", json={"sub_issue_id": child["id"]})
    assert again.status_code == 422
    elsewhere = f"/repos/{REPO}/issues/{other['number']}/sub_issues"
    assert client.post(elsewhere, json={"sub_issue_id": child["id"]}).status_code == 422
    moved = client.post(elsewhere, json={"sub_issue_id": child["id"], "replace_parent": True})
    assert moved.status_code == 201
    assert client.get(f"{base}/sub_issues").json() == []
    assert client.post(f"{base}/sub_issues", json={"sub_issue_id": spec["id"]}).status_code == 422
    assert client.post(f"{base}/sub_issues", json={"sub_issue_id": 1}).status_code == 422
    assert client.post(f"{base}/sub_issues", json={}).status_code == 422
    # a cycle: Spec under Other, then Other under Spec
    assert client.post(elsewhere, json={"sub_issue_id": spec["id"]}).status_code == 201
    assert client.post(f"{base}/sub_issues", json={"sub_issue_id": other["id"]}).status_code == 422
    not_a_child = client.request("DELETE", f"{base}/sub_issue", json={"sub_issue_id": child["id"]})
    assert not_a_child.status_code == 404
    assert client.get(f"/repos/{REPO}/issues/999/sub_issues").status_code == 404
    # only the request we sent without its required field disagrees with GitHub's description
    problems = _problems(gh)
    assert len(problems) == 1
    assert "'sub_issue_id' is a required property" in problems[0]


def test_people_need_triage_to_change_the_graph(api: World) -> None:
    gh, _, client = api
    parent, child = _open(client, "P"), _open(client, "C")
    url = f"/repos/{REPO}/issues/{parent['number']}/sub_issues"
    token = gh.add_user("rita", "read", REPO, token=True).token
    assert isinstance(token, str)
    with httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"}) as rita:
        assert rita.get(url).status_code == 200
        assert rita.post(url, json={"sub_issue_id": child["id"]}).status_code == 403
        blocked = f"/repos/{REPO}/issues/{parent['number']}/dependencies/blocked_by"
        assert rita.post(blocked, json={"issue_id": child["id"]}).status_code == 403


def test_dependencies_blocked_by_and_blocking(api: World) -> None:
    gh, _, client = api
    first, second, third = (_open(client, t) for t in ("First", "Second", "Third"))
    blocked_by = f"/repos/{REPO}/issues/{third['number']}/dependencies/blocked_by"
    for blocker in (first, second):
        added = client.post(blocked_by, json={"issue_id": blocker["id"]})
        assert added.status_code == 201
        assert added.json()["number"] == third["number"]
    assert [i["title"] for i in client.get(blocked_by).json()] == ["First", "Second"]
    blocking = client.get(f"/repos/{REPO}/issues/{first['number']}/dependencies/blocking")
    assert [i["title"] for i in blocking.json()] == ["Third"]
    summary = client.get(f"/repos/{REPO}/issues/{third['number']}").json()
    assert summary["issue_dependencies_summary"] == {
        "blocked_by": 2,
        "blocking": 0,
        "total_blocked_by": 2,
        "total_blocking": 0,
    }
    gh.act_as("mona").close_issue(REPO, first["number"])
    summary = client.get(f"/repos/{REPO}/issues/{third['number']}").json()
    assert summary["issue_dependencies_summary"]["blocked_by"] == 1

    assert client.post(blocked_by, json={"issue_id": first["id"]}).status_code == 422
    assert client.post(blocked_by, json={"issue_id": third["id"]}).status_code == 422
    assert client.post(blocked_by, json={"issue_id": "x"}).status_code == 422
    assert len(_problems(gh)) == 1  # the string issue_id, which GitHub's schema refuses too
    gh.clear_requests()

    removed = client.delete(f"{blocked_by}/{first['id']}")
    assert removed.status_code == 200
    assert [i["title"] for i in client.get(blocked_by).json()] == ["Second"]
    assert client.delete(f"{blocked_by}/{first['id']}").status_code == 404
    assert client.delete(f"{blocked_by}/424242").status_code == 404
    assert _problems(gh) == []


def test_changes_send_githubs_webhooks(api: World, webhook_sink: WebhookReceiver) -> None:
    gh, app, client = api
    parent, child = _open(client, "Parent"), _open(client, "Child")
    subs = f"/repos/{REPO}/issues/{parent['number']}/sub_issues"
    client.post(subs, json={"sub_issue_id": child["id"]})
    client.request(
        "DELETE",
        f"/repos/{REPO}/issues/{parent['number']}/sub_issue",
        json={"sub_issue_id": child["id"]},
    )
    blocked_by = f"/repos/{REPO}/issues/{child['number']}/dependencies/blocked_by"
    client.post(blocked_by, json={"issue_id": parent["id"]})
    client.delete(f"{blocked_by}/{parent['id']}")
    gh.wait_for_deliveries()

    graph = [r for r in webhook_sink.received if r.event in ("sub_issues", "issue_dependencies")]
    assert [(r.event, r.payload["action"]) for r in graph] == [
        ("sub_issues", "sub_issue_added"),
        ("sub_issues", "parent_issue_added"),
        ("sub_issues", "sub_issue_removed"),
        ("sub_issues", "parent_issue_removed"),
        ("issue_dependencies", "blocked_by_added"),
        ("issue_dependencies", "blocking_added"),
        ("issue_dependencies", "blocked_by_removed"),
        ("issue_dependencies", "blocking_removed"),
    ]
    added = graph[0].payload
    assert (added["parent_issue"]["number"], added["sub_issue"]["number"]) == (
        parent["number"],
        child["number"],
    )
    assert added["sub_issue_id"] == child["id"]
    assert added["parent_issue"]["sub_issues_summary"]["total"] == 1
    assert added["sender"]["login"] == app.bot_login
    assert added["organization"]["login"] == "acme"
    dependency = graph[4].payload
    assert (dependency["blocked_issue_id"], dependency["blocking_issue_id"]) == (
        child["id"],
        parent["id"],
    )
    spec = OpenAPIValidator.load()
    assert [p for r in graph for p in spec.check_webhook(r.event, r.payload)] == []


def test_the_validator_rejects_a_sub_issue_event_without_its_parent(
    api: World, webhook_sink: WebhookReceiver
) -> None:
    gh, _, client = api
    parent, child = _open(client, "Parent"), _open(client, "Child")
    client.post(
        f"/repos/{REPO}/issues/{parent['number']}/sub_issues", json={"sub_issue_id": child["id"]}
    )
    gh.wait_for_deliveries()
    payload = next(r.payload for r in webhook_sink.received if r.event == "sub_issues")
    del payload["parent_issue"]
    assert OpenAPIValidator.load().check_webhook("sub_issues", payload)
