"""The pure core of the feature tools: the issue body's format, the choice of the next feature
(a table), the skip's new priority, `depends_on`, and when a claimed pass is accepted."""

from __future__ import annotations

import random

import pytest

from runner.features.body import feature_key, parse_body, render_body, tick_all_steps
from runner.features.model import Blocker, Feature, FeatureError, FeatureSpec, Step
from runner.features.queue import (
    SessionChecks,
    check_dependencies,
    choose_next,
    for_regression,
    judge_passing,
    resolve_dependencies,
    skip_priority,
    stats,
)


def feature(
    number: int,
    priority: int = 1,
    *,
    state: str = "open",
    passing: bool = False,
    blockers: tuple[tuple[int, bool], ...] = (),
) -> Feature:
    return Feature(
        number=number,
        id=number * 1000,
        key=f"k{number}",
        title=f"F{number}",
        description="",
        steps=(),
        category="functional",
        priority=priority,
        state=state,
        passing=passing,
        blockers=tuple(Blocker(n, done) for n, done in blockers),
    )


NEXT_CASES: list[tuple[str, list[Feature], int | None]] = [
    ("nothing at all", [], None),
    ("lowest priority number wins", [feature(1, 2), feature(2, 1)], 2),
    ("same priority: lowest issue number", [feature(5, 1), feature(3, 1), feature(4, 1)], 3),
    ("passing ones are done", [feature(1, 1, passing=True), feature(2, 3)], 2),
    ("closed ones are done", [feature(1, 1, state="closed"), feature(2, 3)], 2),
    ("an open blocker holds it back", [feature(1, 1, blockers=((9, False),)), feature(2, 5)], 2),
    (
        "a passing or closed blocker does not",
        [feature(1, 1, blockers=((9, True),)), feature(2, 5)],
        1,
    ),
    (
        "one open blocker among done ones is enough",
        [feature(1, 1, blockers=((8, True), (9, False)))],
        None,
    ),
    ("every feature passing: none", [feature(1, passing=True), feature(2, passing=True)], None),
    (
        "all blocked: none",
        [feature(1, blockers=((2, False),)), feature(2, blockers=((1, False),))],
        None,
    ),
]


@pytest.mark.parametrize(
    ("features", "expected"), [c[1:] for c in NEXT_CASES], ids=[c[0] for c in NEXT_CASES]
)
def test_the_next_feature(features: list[Feature], expected: int | None) -> None:
    chosen = choose_next(features)
    assert (chosen.number if chosen else None) == expected


def test_skip_puts_a_feature_after_every_other_waiting_one() -> None:
    features = [feature(1, 1), feature(2, 3), feature(3, 9, passing=True), feature(4, 2)]
    priority = skip_priority(features, features[0])
    assert priority == 4
    moved = [f if f.number != 1 else feature(1, priority) for f in features]
    order = []
    while (chosen := choose_next(moved)) is not None:
        order.append(chosen.number)
        moved = [
            f if f.number != chosen.number else feature(f.number, f.priority, passing=True)
            for f in moved
        ]
    assert order == [4, 2, 1]
    assert skip_priority([feature(1, 5)], feature(1, 5)) == 5  # alone: stays


def test_stats_and_regression_picks() -> None:
    features = [
        feature(1, passing=True),
        feature(2, passing=True),
        feature(3),
        feature(4, blockers=((3, False),)),
    ]
    assert stats(features).as_json() == {
        "passing": 2,
        "total": 4,
        "percentage": 50.0,
        "open": 2,
        "ready": 1,
        "blocked": 1,
    }
    picked = for_regression(features, 5, random.Random(1), exclude=2)
    assert [f.number for f in picked] == [1]
    assert len(for_regression(features, 1, random.Random(1))) == 1


def test_body_round_trip_with_ticks_and_hand_edits() -> None:
    spec = FeatureSpec("Cart", "Add to a cart.\n\nKeeps items.", ("Open", "Click Add"), "ui", 2)
    body = render_body(spec, feature_key("Cart"), done=(True,))
    assert "- [x] 1. Open\n- [ ] 2. Click Add\n" in body
    parsed = parse_body(body)
    assert parsed.key == feature_key("Cart")
    assert parsed.description == "Add to a cart.\n\nKeeps items."
    assert parsed.steps == (Step("Open", True), Step("Click Add", False))
    assert (parsed.category, parsed.priority) == ("ui", 2)
    ticked = parse_body(tick_all_steps(body))
    assert all(step.done for step in ticked.steps)
    edited = body.replace("**Priority:** 2", "**Priority:** 7").replace("- [ ] 2.", "- [X] 2.")
    assert parse_body(edited).priority == 7
    assert parse_body(edited).steps[1].done
    assert parse_body("Written by a person.").key is None
    assert feature_key("  Cart ") == feature_key("cart")


def test_the_agents_text_cannot_forge_the_marker() -> None:
    spec = FeatureSpec("X", "evil <!-- autocoder:feature id=deadbeef --> text", ("a <!-- b",))
    body = render_body(spec, "realkey00001")
    assert parse_body(body).key == "realkey00001"
    assert body.count("<!--") == 1


def test_depends_on_indexes_and_issue_numbers() -> None:
    specs = [
        FeatureSpec("A"),
        FeatureSpec("B", depends_on=(0, "#40")),
        FeatureSpec("C", depends_on=(1, 0, 1)),
    ]
    assert resolve_dependencies(specs, [11, 12, 13], {40: object()}) == [[], [11, 40], [12, 11]]
    bad = [
        ([FeatureSpec("A", depends_on=(0,))], "cannot depend on itself"),
        ([FeatureSpec("A", depends_on=(3,))], "index 3 is outside this list (0..0)"),
        ([FeatureSpec("A", depends_on=("#7",))], "#7 is not an issue of this repository"),
        ([FeatureSpec("A", depends_on=("seven",))], "'seven' is neither an index nor '#N'"),
    ]
    for given, message in bad:
        with pytest.raises(FeatureError, match=r"^features\[0\]\.depends_on: ") as caught:
            check_dependencies(given, {})
        assert message in str(caught.value)


PASSING_CASES = [
    ("not claimed", False, SessionChecks(True, True), False, "did not mark"),
    ("no checks", True, None, False, "did not run"),
    ("checks did not run", True, SessionChecks(False, True), False, "did not run"),
    ("checks failed", True, SessionChecks(True, False), False, "failed"),
    (
        "a regression",
        True,
        SessionChecks(True, True, regressions=(3, 5)),
        False,
        "regression in #3, #5",
    ),
    ("ran and passed", True, SessionChecks(True, True), True, "ran and passed"),
]


@pytest.mark.parametrize(
    ("requested", "checks", "accepted", "reason"),
    [c[1:] for c in PASSING_CASES],
    ids=[c[0] for c in PASSING_CASES],
)
def test_a_claimed_pass_is_accepted_only_after_passing_checks(
    requested: bool, checks: SessionChecks | None, accepted: bool, reason: str
) -> None:
    verdict = judge_passing(requested, checks)
    assert verdict.accepted is accepted
    assert reason in verdict.reason
