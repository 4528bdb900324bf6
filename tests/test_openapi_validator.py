"""OpenAPIValidator against GitHub's own description and its own examples (vendored files only)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.openapi import extract
from tests.openapi.validator import (
    CORRECTIONS,
    REST_FILE,
    VENDORED_DIR,
    WEBHOOKS_FILE,
    OpenAPIValidator,
    translate_schema,
)

# GitHub's examples that GitHub's schemas reject: stale examples, fields added to `required`
# since they were written. Pinned so a new package version that changes them is noticed.
# (operationId, status, example name) -> problems, without the "<operation> <status>
# response: " prefix.
KNOWN_EXAMPLE_MISMATCHES: dict[tuple[str, int, str], tuple[str, ...]] = {
    ("repos/get", 200, "default-response"): (
        "at $: 'language' is a required property",
        "at $.source: 'language' is a required property",
    ),
    ("repos/list-branches", 200, "default"): (
        "at $[0].protection.required_status_checks: 'checks' is a required property",
    ),
    ("repos/get-collaborator-permission-level", 200, "response-if-user-has-admin-permissions"): (
        "at $.user: 'role_name' is a required property",
    ),
    ("repos/get-commit", 200, "default"): (
        "at $.files[0]: 'contents_url' is a required property",
        "at $.files[0]: 'sha' is a required property",
    ),
    ("pulls/list", 200, "default"): ("at $[0].requested_teams[0]: 'type' is a required property",),
    ("pulls/create", 201, "default"): ("at $.requested_teams[0]: 'type' is a required property",),
    ("pulls/get", 200, "default"): ("at $.requested_teams[0]: 'type' is a required property",),
    ("pulls/update", 200, "default"): ("at $.requested_teams[0]: 'type' is a required property",),
    ("pulls/list-requested-reviewers", 200, "default"): (
        "at $.teams[0]: 'type' is a required property",
    ),
    ("pulls/request-reviewers", 201, "default"): (
        "at $.requested_teams[0]: 'type' is a required property",
    ),
}


@pytest.fixture(scope="module")
def spec() -> OpenAPIValidator:
    return OpenAPIValidator.load()


@pytest.fixture(scope="module")
def rest() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VENDORED_DIR / REST_FILE).read_text(encoding="utf-8"))
    return document


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        for token in node["$ref"].removeprefix("#/").split("/"):
            document = document[token.replace("~1", "/").replace("~0", "~")]
        node = document
    return node


def _at(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for token in pointer.removeprefix("#").removeprefix("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _example_value(rest: dict[str, Any], example: Any) -> Any:
    """An example's value. GitHub writes some as ``value: {$ref: <an Example object>}``."""
    value = _resolve(rest, example)["value"]
    if isinstance(value, dict) and set(value) == {"$ref"}:
        value = _at(rest, value["$ref"])["value"]
    return value


def _json_examples(rest: dict[str, Any]) -> Iterator[tuple[str, str, str, int, str, Any]]:
    """(method, template, operationId, status, example name, value) for every JSON example."""
    for template, item in rest["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for status, response in operation["responses"].items():
                media = (_resolve(rest, response).get("content") or {}).get("application/json")
                for name, example in ((media or {}).get("examples") or {}).items():
                    yield (
                        method.upper(),
                        template,
                        operation["operationId"],
                        int(status),
                        name,
                        _example_value(rest, example),
                    )


def _concrete(template: str) -> str:
    """A concrete path for a template, with a slashed ref where GitHub allows one."""
    values = {"owner": "octo", "repo": "hello", "ref": "heads/feature/x", "branch": "main"}
    return re.sub(
        r"\{(\w+)\}",
        lambda m: values.get(m.group(1), "7" if m.group(1).endswith(("_id", "_number")) else "x"),
        template,
    )


def _example(rest: dict[str, Any], operation_id: str, status: int, name: str = "default") -> Any:
    for _, _, op_id, example_status, example_name, value in _json_examples(rest):
        if (op_id, example_status, example_name) == (operation_id, status, name):
            return copy.deepcopy(value)
    raise LookupError(f"no example {name} for {operation_id} {status}")


def _request_example(rest: dict[str, Any], template: str, method: str) -> Any:
    body = _resolve(rest, rest["paths"][template][method]["requestBody"])
    examples = body["content"]["application/json"]["examples"]
    return copy.deepcopy(_example_value(rest, next(iter(examples.values()))))


# --- the vendored files ----------------------------------------------------------------


def test_every_listed_operation_is_vendored(rest: dict[str, Any]) -> None:
    for method, template in extract.OPERATIONS:
        assert method.lower() in rest["paths"][template], (method, template)
    vendored = {
        (method.upper(), template)
        for template, item in rest["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert vendored == set(extract.OPERATIONS)
    others = rest["x-unvendored-operations"]
    assert len(others) > 1000
    assert not {f"{method} {template}" for method, template in vendored} & set(others)


@pytest.mark.parametrize("name", [REST_FILE, WEBHOOKS_FILE])
def test_vendored_file_is_self_contained_and_says_where_it_came_from(name: str) -> None:
    document = json.loads((VENDORED_DIR / name).read_text(encoding="utf-8"))
    for ref in set(extract.iter_refs(document)):
        assert ref.startswith("#/components/"), ref
        _at(document, ref)  # raises KeyError if it dangles
    origin = document["info"]["x-vendored-from"]
    assert origin["package"] == "@octokit/openapi"
    assert origin["version"] == extract.PINNED_VERSION
    assert origin["file"] == "generated/api.github.com.json"
    assert origin["license"] == "MIT"
    assert (VENDORED_DIR / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_vendored_files_are_in_the_extractor_format() -> None:
    """What extract.dump writes: rerunning extract.py on the same package changes nothing."""
    for name in (REST_FILE, WEBHOOKS_FILE):
        text = (VENDORED_DIR / name).read_text(encoding="utf-8")
        assert extract.dump(json.loads(text)) == text


def test_every_listed_webhook_is_vendored(spec: OpenAPIValidator) -> None:
    assert spec.webhook_keys == {extract.webhook_key(e, a) for e, a in extract.WEBHOOKS}


# --- GitHub's own examples -------------------------------------------------------------


def test_accepts_githubs_issue_example(spec: OpenAPIValidator, rest: dict[str, Any]) -> None:
    issue = _example(rest, "issues/get", 200)
    assert spec.check("GET", "/repos/octocat/Hello-World/issues/1347", 200, None, issue) == []


def test_accepts_githubs_check_run_create_example(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    template = "/repos/{owner}/{repo}/check-runs"
    request = _request_example(rest, template, "post")
    response = _example(rest, "checks/create", 201, "example-of-in-progress-conclusion")
    assert spec.check("POST", "/repos/o/r/check-runs", 201, request, response) == []


def test_pull_create_example_is_stale_about_team_type(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    """GitHub's pulls/create example predates `type` on teams; with it, it passes."""
    request = _request_example(rest, "/repos/{owner}/{repo}/pulls", "post")
    pull = _example(rest, "pulls/create", 201)
    assert spec.check("POST", "/repos/o/r/pulls", 201, request, pull) == [
        "pulls/create (POST /repos/{owner}/{repo}/pulls) 201 response: "
        "at $.requested_teams[0]: 'type' is a required property"
    ]
    for team in pull["requested_teams"]:
        team["type"] = "organization"
    assert spec.check("POST", "/repos/o/r/pulls", 201, request, pull) == []


def test_every_githubs_response_example_passes_or_is_a_known_mismatch(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    seen: dict[tuple[str, int, str], tuple[str, ...]] = {}
    for method, template, operation_id, status, name, value in _json_examples(rest):
        prefix = f"{operation_id} ({method} {template}) {status} response: "
        problems = spec.check(method, _concrete(template), status, None, value)
        problems = [p.removeprefix(prefix) for p in problems if p.startswith(prefix)]
        if problems:
            seen[(operation_id, status, name)] = tuple(problems)
    assert seen == KNOWN_EXAMPLE_MISMATCHES


def test_every_githubs_request_example_passes(spec: OpenAPIValidator, rest: dict[str, Any]) -> None:
    checked = 0
    for template, item in rest["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            content = _resolve(rest, operation["requestBody"])["content"]["application/json"]
            status = int(next(iter(operation["responses"])))
            for example in (content.get("examples") or {}).values():
                response = f"{operation['operationId']} ({method.upper()} {template}) {status} "
                problems = spec.check(
                    method, _concrete(template), status, _example_value(rest, example), None
                )
                # Only the missing response body may be reported, nothing about the request.
                assert all(p.startswith(response) for p in problems), problems
                checked += 1
    assert checked >= 15


def test_installation_account_correction_still_needed(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    """Delete the correction from validator.CORRECTIONS once GitHub fixes its description."""
    assert spec.corrections_applied == list(CORRECTIONS)
    installations = _example(rest, "apps/list-installations", 200)
    assert spec.check("GET", "/app/installations", 200, None, installations) == []
    account = _at(rest, CORRECTIONS[0].pointer)  # the vendored file itself is not corrected
    assert [part["title"] for part in account["allOf"]] == ["Simple User", "Enterprise"]


# --- rejecting ---------------------------------------------------------------------------


def test_rejects_a_response_missing_a_required_field(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    issue = _example(rest, "issues/get", 200)
    del issue["title"]
    assert spec.check("GET", "/repos/o/r/issues/1", 200, None, issue) == [
        "issues/get (GET /repos/{owner}/{repo}/issues/{issue_number}) 200 response: "
        "at $: 'title' is a required property"
    ]


def test_rejects_a_response_field_of_the_wrong_type(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    issue = _example(rest, "issues/get", 200)
    issue["number"] = "1347"
    issue["user"]["id"] = None  # user is nullable, its id is not
    problems = spec.check("GET", "/repos/o/r/issues/1347", 200, None, issue)
    assert len(problems) == 2
    assert "at $.number: '1347' is not of type 'integer'" in problems[0]
    assert "at $.user.id: None is not of type 'integer'" in problems[1]


def test_accepts_null_where_github_says_nullable(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    issue = _example(rest, "issues/get", 200)
    issue.update(user=None, milestone=None, closed_at=None, body=None, state_reason=None)
    assert spec.check("GET", "/repos/o/r/issues/1", 200, None, issue) == []


def test_rejects_a_malformed_date_time(spec: OpenAPIValidator, rest: dict[str, Any]) -> None:
    issue = _example(rest, "issues/get", 200)
    issue["created_at"] = "2011-04-22 13:33:48"  # Python's str(datetime): not RFC 3339
    problems = spec.check("GET", "/repos/o/r/issues/1", 200, None, issue)
    assert len(problems) == 1
    assert "at $.created_at: '2011-04-22 13:33:48' is not a 'date-time'" in problems[0]


def test_rejects_a_bad_request_body(spec: OpenAPIValidator) -> None:
    problems = spec.check("POST", "/repos/o/r/issues", 201, {"body": "no title"}, None)
    assert problems[0] == (
        "issues/create (POST /repos/{owner}/{repo}/issues) request body: "
        "at $: 'title' is a required property"
    )
    problems = spec.check("POST", "/repos/o/r/check-runs", 201, {"name": "x", "head_sha": 5}, None)
    assert any("at $.head_sha: 5 is not of type 'string'" in p for p in problems)
    problems = spec.check("PATCH", "/repos/o/r/issues/3", 200, {"state": "done"}, None)
    assert any("at $.state: 'done' is not one of ['open', 'closed']" in p for p in problems)


def test_requires_documented_bodies_and_refuses_undocumented_ones(
    spec: OpenAPIValidator,
) -> None:
    assert spec.check("POST", "/repos/o/r/issues", 201, None, None) == [
        "issues/create (POST /repos/{owner}/{repo}/issues): request body is required",
        "issues/create (POST /repos/{owner}/{repo}/issues) 201 response: has no body but the "
        "description documents one (application/json)",
    ]
    assert spec.check("DELETE", "/repos/o/r/git/refs/heads/x", 204, None, None) == []
    assert spec.check("DELETE", "/repos/o/r/git/refs/heads/x", 204, None, {}) == [
        "git/delete-ref (DELETE /repos/{owner}/{repo}/git/refs/{ref}) 204 response: "
        "has a body but none is documented"
    ]
    assert spec.check("GET", "/repos/o/r", 200, {"x": 1}, None)[0] == (
        "repos/get (GET /repos/{owner}/{repo}): request has a body but the operation documents none"
    )


def test_reports_an_unknown_operation(spec: OpenAPIValidator) -> None:
    assert spec.check("GET", "/repos/o/r/no-such-thing", 200, None, []) == [
        "GET /repos/o/r/no-such-thing: GitHub's REST description has no such operation"
    ]
    assert spec.check("GET", "/repos/o/r/hooks", 200, None, []) == [
        "GET /repos/o/r/hooks: GitHub's repos/list-webhooks (GET /repos/{owner}/{repo}/hooks) "
        "is not vendored; add it to OPERATIONS in tests/openapi/extract.py and regenerate"
    ]
    assert spec.check("DELETE", "/repos/o/r", 204, None, None)[0].startswith(
        "DELETE /repos/o/r: GitHub's repos/delete (DELETE /repos/{owner}/{repo}) is not vendored"
    )


def test_reports_an_undocumented_status(spec: OpenAPIValidator) -> None:
    assert spec.check("GET", "/repos/o/r/issues/1", 418, None, None) == [
        "issues/get (GET /repos/{owner}/{repo}/issues/{issue_number}): status 418 is not "
        "documented (documented: 200, 301, 304, 404, 410)"
    ]


def test_checks_error_bodies_too(spec: OpenAPIValidator) -> None:
    not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    assert spec.check("GET", "/repos/o/r/issues/1", 404, None, not_found) == []
    problems = spec.check("GET", "/repos/o/r/issues/1", 404, None, {"message": 404})
    assert problems == [
        "issues/get (GET /repos/{owner}/{repo}/issues/{issue_number}) 404 response: "
        "at $.message: 404 is not of type 'string'"
    ]


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("GET", "/app", "apps/get-authenticated"),
        ("POST", "/app/installations/42/access_tokens", "apps/create-installation-access-token"),
        ("GET", "/repos/o/r", "repos/get"),
        ("GET", "/repos/o/r/installation", "apps/get-repo-installation"),
        ("GET", "/repos/o/r/git/ref/heads/main", "git/get-ref"),
        ("GET", "/repos/o/r/git/ref/heads/autocoder/issue-12", "git/get-ref"),
        ("GET", "/repos/o/r/git/matching-refs/heads/autocoder/", "git/list-matching-refs"),
        ("PATCH", "/repos/o/r/git/refs/heads/feature/x", "git/update-ref"),
        ("DELETE", "/repos/o/r/git/refs/heads/feature/x", "git/delete-ref"),
        ("POST", "/repos/o/r/git/refs", "git/create-ref"),
        ("GET", "/repos/o/r/branches/feature/x", "repos/get-branch"),
        ("GET", "/repos/o/r/commits/main", "repos/get-commit"),
        ("GET", "/repos/o/r/commits/heads/feature/x/check-runs", "checks/list-for-ref"),
        ("GET", "/repos/o/r/commits/abc123/check-runs", "checks/list-for-ref"),
        ("GET", "/repos/o/r/issues", "issues/list-for-repo"),
        ("GET", "/repos/o/r/issues/12", "issues/get"),
        ("PATCH", "/repos/o/r/issues/12", "issues/update"),
        ("GET", "/repos/o/r/issues/5/comments", "issues/list-comments"),
        ("GET", "/repos/o/r/issues/comments/5", "issues/get-comment"),
        ("PATCH", "/repos/o/r/issues/comments/5", "issues/update-comment"),
        ("POST", "/repos/o/r/issues/comments/5/reactions", "reactions/create-for-issue-comment"),
        ("POST", "/repos/o/r/issues/5/reactions", "reactions/create-for-issue"),
        ("DELETE", "/repos/o/r/issues/5/labels/help%20wanted", "issues/remove-label"),
        ("PUT", "/repos/o/r/issues/5/labels", "issues/set-labels"),
        (
            "GET",
            "/repos/o/r/collaborators/mona/permission",
            "repos/get-collaborator-permission-level",
        ),
        ("GET", "/repos/o/r/pulls/3/reviews/9/comments", "pulls/list-comments-for-review"),
        ("POST", "/repos/o/r/pulls/3/comments/9/replies", "pulls/create-reply-for-review-comment"),
        ("PATCH", "/repos/o/r/check-runs/4", "checks/update"),
        ("GET", "/repos/o/r/issues/12?per_page=100", "issues/get"),
        ("GET", "/api/v3/repos/o/r/issues/12", "issues/get"),
        ("get", "/user", "users/get-authenticated"),
    ],
)
def test_match(spec: OpenAPIValidator, method: str, path: str, operation_id: str) -> None:
    assert spec.match(method, path) == operation_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/repos/o/r/issues/comments"),  # list all comments: not vendored
        ("GET", "/repos/o/r/issues/abc"),  # issue_number is an integer
        ("DELETE", "/repos/o/r"),
        ("GET", "/repos/o/r/hooks"),
        ("GET", "/repos/o"),
        ("POST", "/repos/o/r/git/ref/heads/main"),
        # GitHub sub-resources that a slash-taking {ref}/{branch} must not swallow:
        ("GET", "/repos/o/r/commits/abc123/status"),
        ("GET", "/repos/o/r/commits/abc123/pulls"),
        ("GET", "/repos/o/r/branches/main/protection"),
    ],
)
def test_no_match(spec: OpenAPIValidator, method: str, path: str) -> None:
    assert spec.match(method, path) is None


def test_every_vendored_operation_matches_its_own_template(
    spec: OpenAPIValidator, rest: dict[str, Any]
) -> None:
    for method, template in extract.OPERATIONS:
        expected = rest["paths"][template][method.lower()]["operationId"]
        assert spec.match(method, _concrete(template)) == expected, (method, template)


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_names(spec: OpenAPIValidator) -> None:
    assert spec.webhook_key("check_run", {"action": "requested_action"}) == (
        "check-run-requested-action"
    )
    assert spec.webhook_key("push", {"ref": "refs/heads/main"}) == "push"
    assert spec.check_webhook("issues", {"action": "transferred"}) == [
        "webhook issues (issues-transferred): no vendored schema in github-webhooks-subset.json"
    ]
    assert spec.check_webhook("issues", {"action": "opened"})[0].startswith(
        "webhook issues-opened: at $: "
    )


# --- reading OpenAPI 3.0 as JSON Schema 2020-12 -------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a", "b"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", "b", None]},
        ),
        (
            {"allOf": [{"$ref": "#/x"}], "nullable": True},
            {"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]},
        ),
        ({"nullable": True}, {}),
        ({"type": "string", "nullable": False}, {"type": "string"}),
        (
            {"type": "object", "properties": {"nullable": {"type": "integer", "nullable": True}}},
            {"type": "object", "properties": {"nullable": {"type": ["integer", "null"]}}},
        ),
        (
            {"type": "array", "items": {"type": "object", "nullable": True}},
            {"type": "array", "items": {"type": ["object", "null"]}},
        ),
    ],
)
def test_translate_schema(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate_schema(schema) == expected


def test_load_is_cached() -> None:
    assert OpenAPIValidator.load() is OpenAPIValidator.load()


def test_from_directory_reads_the_vendored_files() -> None:
    fresh = OpenAPIValidator.from_directory(Path(VENDORED_DIR))
    assert fresh.match("GET", "/rate_limit") == "rate-limit/get"
