"""The sequence's pure core (app/sequence/plan.py): which mirrored issues are the spec's
features, which feature comes next, when the sequence is done, and the progress text people
read on the spec issue."""

from __future__ import annotations

from app.sequence.plan import (
    PROGRESS_MARKER,
    MirrorIssue,
    ProgressView,
    Relation,
    all_passing,
    next_feature,
    render_progress,
    spec_features,
)
from runner.features.body import render_body
from runner.features.model import FEATURE_LABEL, PASSING_LABEL, FeatureSpec

SPEC = 1


def issue(number: int, title: str, priority: int, *labels: str, state: str = "open") -> MirrorIssue:
    body = render_body(FeatureSpec(title=title, steps=("try it",), priority=priority), f"k{number}")
    return MirrorIssue(number, title, body, (FEATURE_LABEL, *labels), state)


def shop(*passing: int, closed: tuple[int, ...] = ()) -> dict[int, MirrorIssue]:
    """Login #2 (priority 2), Cart #3 (priority 1, blocked by Login), Search #4 (priority 3)."""
    rows = [(2, "Login", 2), (3, "Cart", 1), (4, "Search", 3)]
    return {
        n: issue(
            n,
            title,
            priority,
            *([PASSING_LABEL] if n in passing else []),
            state="closed" if n in closed else "open",
        )
        for n, title, priority in rows
    }


GRAPH = [
    Relation("sub_issue", 2, SPEC),
    Relation("sub_issue", 3, SPEC),
    Relation("sub_issue", 4, SPEC),
    Relation("blocked_by", 3, 2),
]


def test_only_feature_sub_issues_of_this_spec_count() -> None:
    issues = {
        **shop(),
        5: MirrorIssue(5, "A question", "", (), "open"),  # a sub-issue, not a feature
        6: issue(6, "Other app's feature", 1),  # a feature of another spec
    }
    graph = [*GRAPH, Relation("sub_issue", 5, SPEC), Relation("sub_issue", 6, 99)]
    features = spec_features(SPEC, issues, graph)
    assert [f.number for f in features] == [2, 3, 4]
    cart = features[1]
    assert [(b.number, b.done) for b in cart.blockers] == [(2, False)]
    assert cart.priority == 1


def test_next_is_the_highest_priority_ready_feature_not_tried() -> None:
    # Cart has the highest priority but waits on Login: Login first.
    features = spec_features(SPEC, shop(), GRAPH)
    assert next_feature(features, []).number == 2  # type: ignore[union-attr]
    # Login passes: Cart (priority 1) before Search (priority 3).
    features = spec_features(SPEC, shop(2), GRAPH)
    assert next_feature(features, [2]).number == 3  # type: ignore[union-attr]
    # Cart was tried and did not pass: never twice in one run, Search next.
    assert next_feature(features, [2, 3]).number == 4  # type: ignore[union-attr]
    assert next_feature(features, [2, 3, 4]) is None


def test_a_closed_blocker_unblocks() -> None:
    features = spec_features(SPEC, shop(closed=(2,)), GRAPH)
    assert next_feature(features, []).number == 3  # type: ignore[union-attr]


def test_done_when_every_open_feature_passes() -> None:
    assert not all_passing(spec_features(SPEC, shop(2, 3), GRAPH))
    assert all_passing(spec_features(SPEC, shop(2, 3, 4), GRAPH))
    assert all_passing(spec_features(SPEC, shop(2, 3, closed=(4,)), GRAPH))  # 4 not planned
    assert not all_passing([])  # no features yet is not done


def test_progress_names_counts_running_next_and_blocked() -> None:
    features = spec_features(SPEC, shop(), GRAPH)
    text = render_progress(features, ProgressView("running", 2, None, (2,)))
    assert text.startswith(PROGRESS_MARKER)
    assert "0/3 features passing (0%)" in text
    assert "- Running now: #2 Login" in text
    assert "- Next: #4 Search" in text  # Cart waits on the running Login
    assert "  - #3 Cart (by #2)" in text
    assert "| #3 Cart | 1 | ⏳ blocked |" in text
    assert "| #2 Login | 2 | 🏃 running |" in text


def test_progress_when_finished_and_when_stopped() -> None:
    features = spec_features(SPEC, shop(2, 3, 4), GRAPH)
    done = render_progress(features, ProgressView("finished", None, "every feature passes (3)", ()))
    assert "3/3 features passing (100%)" in done
    assert "- Sequence: finished — every feature passes (3)" in done
    assert "Next:" not in done and "Blocked" not in done
    features = spec_features(SPEC, shop(2, 3), GRAPH)
    stopped = render_progress(
        features, ProgressView("stopped", None, "no feature is ready", (2, 3, 4))
    )
    assert "2/3 features passing" in stopped
    assert "| #4 Search | 3 | tried, not passing |" in stopped


def test_a_title_cannot_break_the_table() -> None:
    issues = {2: issue(2, "a | b\nc", 1)}
    text = render_progress(
        spec_features(SPEC, issues, [Relation("sub_issue", 2, SPEC)]),
        ProgressView("running", None, None, ()),
    )
    assert "| #2 a \\| b c | 1 | to do |" in text
