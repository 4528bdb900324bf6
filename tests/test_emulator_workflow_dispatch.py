"""The emulator's `workflow_dispatch` endpoint: a dispatch of a workflow that declares the
trigger is recorded (with its ref, commit and inputs) for a stand-in runner; GitHub's refusals
(no such workflow, no trigger, an undeclared input, no such ref, no Actions permission) come
back as GitHub sends them; every exchange matches GitHub's OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulator import Emulator
from tests.openapi.validator import OpenAPIValidator

REPO = "acme/app"
WORKFLOW = """\
name: autocoder session
on:
  workflow_dispatch:
    inputs:
      work_order_id:
        required: true
      app_url:
        required: true
jobs:
  session:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""
PUSH_ONLY = "on: push\njobs: {}\n"

Api = tuple[Emulator, httpx.Client, httpx.Client]


@pytest.fixture
def api(github_emulator: Emulator) -> Iterator[Api]:
    gh = github_emulator
    files = {
        "README.md": "hi\n",
        ".github/workflows/autocoder.yml": WORKFLOW,
        ".github/workflows/ci.yml": PUSH_ONLY,
    }
    gh.create_repo(REPO, files)
    allowed = gh.register_app(
        "dispatcher", permissions={"actions": "write", "contents": "read", "metadata": "read"}
    )
    plain = gh.register_app("plain")  # the default permissions: no Actions
    tokens = [
        gh.installation_token(app, gh.install(app.id, REPO, account=f"acc{n}"))
        for n, app in enumerate((allowed, plain))
    ]
    with (
        httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {tokens[0]}"}) as a,
        httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {tokens[1]}"}) as b,
    ):
        yield gh, a, b


def _dispatch(client: httpx.Client, workflow: str, body: dict[str, Any]) -> httpx.Response:
    path = f"/repos/{REPO}/actions/workflows/{workflow}/dispatches"
    answer = client.post(path, json=body)
    if answer.status_code < 400:  # GitHub's description documents no error of this operation
        problems = OpenAPIValidator.load().check(
            "POST", path, answer.status_code, body, answer.json() if answer.content else None
        )
        assert problems == []
    else:
        assert set(answer.json()) >= {"message", "documentation_url"}
    return answer


def test_a_dispatch_is_recorded_with_its_ref_commit_and_inputs(api: Api) -> None:
    gh, client, _ = api
    inputs = {"work_order_id": "wo-1", "app_url": "https://autocoder.example"}
    answer = _dispatch(client, "autocoder.yml", {"ref": "main", "inputs": inputs})
    assert answer.status_code == 204 and answer.content == b""
    details = _dispatch(
        client,
        "autocoder.yml",
        {"ref": "main", "inputs": inputs, "return_run_details": True},
    )
    assert details.status_code == 200
    run_id = details.json()["workflow_run_id"]
    assert details.json()["run_url"].endswith(f"/repos/{REPO}/actions/runs/{run_id}")
    recorded = gh.workflow_dispatches(REPO)
    assert [d["inputs"] for d in recorded] == [inputs, inputs]
    assert recorded[1]["run_id"] == run_id
    assert recorded[0]["workflow"] == "autocoder.yml" and recorded[0]["ref"] == "main"
    assert len(recorded[0]["sha"]) == 40
    assert recorded[0]["actor"] == "dispatcher[bot]"


@pytest.mark.parametrize(
    ("workflow", "body", "status", "message"),
    [
        ("missing.yml", {"ref": "main"}, 404, "Not Found"),
        ("ci.yml", {"ref": "main"}, 422, "Workflow does not have 'workflow_dispatch' trigger"),
        (
            "autocoder.yml",
            {"ref": "main", "inputs": {"work_order_id": "1", "app_url": "u", "x": "1"}},
            422,
            'Unexpected inputs provided: ["x"]',
        ),
        ("autocoder.yml", {"ref": "nope", "inputs": {}}, 422, "No ref found for: nope"),
        (
            "autocoder.yml",
            {"ref": "main", "inputs": {"app_url": "u"}},
            422,
            "Required input 'work_order_id' not provided",
        ),
    ],
)
def test_refusals_are_githubs(
    api: Api, workflow: str, body: dict[str, Any], status: int, message: str
) -> None:
    gh, client, _ = api
    answer = _dispatch(client, workflow, body)
    assert (answer.status_code, answer.json()["message"]) == (status, message)
    assert gh.workflow_dispatches(REPO) == []


def test_an_app_without_actions_permission_may_not_dispatch(api: Api) -> None:
    gh, _, plain = api
    answer = _dispatch(plain, "autocoder.yml", {"ref": "main", "inputs": {}})
    assert answer.status_code == 403
    assert gh.workflow_dispatches(REPO) == []
