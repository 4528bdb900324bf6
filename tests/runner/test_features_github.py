"""The feature tools writing through to GitHub (the emulator): issues with test steps,
priorities, sub-issue links under the spec issue and blocked-by relations; no duplicates on a
rerun; update, skip, delete and the session end's passing label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from runner.features.body import parse_body
from runner.features.queue import SessionChecks
from runner.features.session import FeatureScope, feature_tools_for
from runner.features.tools import apply_passing
from runner.tools.registry import ToolRegistry
from tests.emulator import Emulator
from tests.openapi.validator import OpenAPIValidator
from tests.runner.features_world import REPO, FeatureWorld, feature_world

PLAN: list[dict[str, Any]] = [
    {
        "title": "Product list",
        "description": "Shows every product.",
        "steps": ["Open /products", "See three products"],
        "category": "functional",
        "priority": 1,
    },
    {
        "title": "Cart",
        "description": "Add products to a cart.",
        "steps": ["Open a product", "Click Add", "The cart shows 1"],
        "category": "functional",
        "priority": 2,
        "depends_on": [0],
    },
    {
        "title": "Checkout",
        "description": "Pay for the cart.",
        "steps": ["Fill the form", "See the receipt"],
        "category": "functional",
        "priority": 1,
        "depends_on": [0, 1],
    },
]


@pytest.fixture
def world(github_emulator: Emulator) -> Iterator[FeatureWorld]:
    with feature_world(github_emulator) as made:
        yield made


def _call(registry: ToolRegistry, name: str, **arguments: Any) -> Any:
    result = registry.call(name, json.dumps(arguments))
    assert result.ok, result.output
    return json.loads(result.output)


def _issue(world: FeatureWorld, number: int) -> dict[str, Any]:
    answer: dict[str, Any] = world.http.request("t", "GET", f"/repos/{REPO}/issues/{number}").data
    return answer


def test_create_bulk_makes_the_graph_on_github_and_a_rerun_duplicates_nothing(
    world: FeatureWorld,
) -> None:
    registry = ToolRegistry(world.tools().specs())
    first = _call(registry, "feature_create_bulk", features=PLAN)
    assert (first["created"], first["existing"]) == (3, 0)
    numbers = [f["number"] for f in first["features"]]

    subs = world.graph.sub_issues(world.spec_issue)
    assert [i.number for i in subs] == numbers
    for number, plan in zip(numbers, PLAN, strict=True):
        issue = _issue(world, number)
        assert issue["title"] == plan["title"]
        assert [label["name"] for label in issue["labels"]] == ["autocoder:feature"]
        body = issue["body"]
        for index, step in enumerate(plan["steps"], start=1):
            assert f"- [ ] {index}. {step}\n" in body
        assert f"**Priority:** {plan['priority']}" in body
        assert "<!-- autocoder:feature id=" in body
        assert issue["parent_issue_url"].endswith(f"/issues/{world.spec_issue}")
    blockers = {n: [b.number for b in world.graph.blocked_by(n)] for n in numbers}
    assert blockers == {numbers[0]: [], numbers[1]: [numbers[0]], numbers[2]: numbers[:2]}

    again = _call(registry, "feature_create_bulk", features=PLAN)
    assert (again["created"], again["existing"]) == (0, 3)
    assert [f["number"] for f in again["features"]] == numbers
    labelled = world.graph.list_labelled("autocoder:feature")
    assert [i.number for i in labelled] == numbers
    assert [i.number for i in world.graph.sub_issues(world.spec_issue)] == numbers
    assert [b.number for b in world.graph.blocked_by(numbers[2])] == numbers[:2]

    spec = OpenAPIValidator.load()
    problems = [
        f"{r.method} {r.path}: {p}"
        for r in world.gh.requests()
        if r.path.startswith(f"/repos/{REPO}/issues")
        for p in spec.check(r.method, r.path, r.status, r.request_body, r.response_body)
    ]
    assert problems == []


def test_next_follows_priority_and_blockers_and_skip_moves_to_the_end(
    world: FeatureWorld,
) -> None:
    registry = ToolRegistry(world.tools().specs())
    numbers = [
        f["number"] for f in _call(registry, "feature_create_bulk", features=PLAN)["features"]
    ]
    # Checkout has priority 1 but waits for both others; Product list comes first
    assert _call(registry, "feature_get_next")["feature"]["number"] == numbers[0]
    stats = _call(registry, "feature_get_stats")
    assert stats == {
        "passing": 0,
        "total": 3,
        "percentage": 0.0,
        "open": 3,
        "ready": 1,
        "blocked": 2,
    }
    extra = _call(
        registry,
        "feature_create",
        title="About page",
        description="Who we are.",
        steps=["Open /about"],
        priority=3,
    )["feature"]["number"]
    skipped = _call(registry, "feature_skip", number=numbers[0])["feature"]
    assert skipped["priority"] == 4
    assert parse_body(_issue(world, numbers[0])["body"]).priority == 4
    assert _call(registry, "feature_get_next")["feature"]["number"] == extra


def test_mark_passing_is_applied_only_when_the_session_checks_pass(world: FeatureWorld) -> None:
    tools = world.tools()
    registry = ToolRegistry(tools.specs())
    numbers = [
        f["number"] for f in _call(registry, "feature_create_bulk", features=PLAN)["features"]
    ]
    own = world.tools(own=numbers[0])
    own_registry = ToolRegistry(own.specs())
    answer = _call(own_registry, "feature_mark_passing")
    assert answer["number"] == numbers[0] and answer["recorded"] is True
    assert "autocoder:passing" not in str(_issue(world, numbers[0])["labels"])

    refused = apply_passing(own, SessionChecks(ran=False, passed=False))
    assert refused[numbers[0]].accepted is False
    assert "autocoder:passing" not in str(_issue(world, numbers[0])["labels"])

    accepted = apply_passing(own, SessionChecks(ran=True, passed=True))
    assert accepted[numbers[0]].accepted is True
    issue = _issue(world, numbers[0])
    assert [label["name"] for label in issue["labels"]] == [
        "autocoder:feature",
        "autocoder:passing",
    ]
    assert "- [x] 1. Open /products" in issue["body"]
    assert "- [x] 2. See three products" in issue["body"]
    # the Cart is ready now that its blocker passes
    assert _call(registry, "feature_get_next")["feature"]["number"] == numbers[1]
    regression = _call(registry, "feature_get_for_regression", limit=2)
    assert [f["number"] for f in regression["features"]] == [numbers[0]]


def test_update_and_delete(world: FeatureWorld) -> None:
    registry = ToolRegistry(world.tools().specs())
    numbers = [
        f["number"] for f in _call(registry, "feature_create_bulk", features=PLAN)["features"]
    ]
    updated = _call(
        registry,
        "feature_update",
        number=numbers[2],
        steps=["Fill the form", "Pay", "See the receipt"],
        depends_on=[f"#{numbers[1]}"],
    )["feature"]
    assert updated["steps"] == ["Fill the form", "Pay", "See the receipt"]
    assert updated["title"] == "Checkout" and updated["priority"] == 1
    assert [b.number for b in world.graph.blocked_by(numbers[2])] == [numbers[1]]
    assert "- [ ] 3. See the receipt" in _issue(world, numbers[2])["body"]

    deleted = _call(registry, "feature_delete", number=numbers[1])
    assert deleted["state"] == "closed"
    issue = _issue(world, numbers[1])
    assert (issue["state"], issue["state_reason"]) == ("closed", "not_planned")
    assert _call(registry, "feature_get_stats")["total"] == 2


def test_mistakes_come_back_as_tool_errors_the_agent_can_read(world: FeatureWorld) -> None:
    registry = ToolRegistry(world.tools().specs())
    bad_index = registry.call(
        "feature_create_bulk",
        json.dumps(
            {"features": [{"title": "A", "description": "", "steps": [], "depends_on": [5]}]}
        ),
    )
    assert not bad_index.ok
    assert "features[0].depends_on: index 5 is outside this list" in bad_index.output
    missing = registry.call(
        "feature_create_bulk",
        json.dumps(
            {"features": [{"title": "A", "description": "", "steps": [], "depends_on": ["#999"]}]}
        ),
    )
    assert not missing.ok and "#999 could not be read" in missing.output
    assert world.graph.list_labelled("autocoder:feature") == []  # nothing half-written
    no_own = registry.call("feature_mark_passing", "{}")
    assert not no_own.ok and "this session has no feature of its own" in no_own.output
    not_feature = registry.call("feature_delete", json.dumps({"number": world.spec_issue}))
    assert not not_feature.ok and "is not a feature" in not_feature.output


def test_only_a_feature_task_gets_the_tools(world: FeatureWorld) -> None:
    assert feature_tools_for(None, world.http, REPO) is None
    tools = feature_tools_for(FeatureScope(spec_issue=world.spec_issue), world.http, REPO)
    assert tools is not None
    registry = ToolRegistry(tools.specs())
    made = _call(registry, "feature_create", title="Login", description="d", steps=["Log in"])
    assert world.graph.get(made["feature"]["number"]).has_label("autocoder:feature")
    assert [i.number for i in world.graph.sub_issues(world.spec_issue)] == [
        made["feature"]["number"]
    ]
