"""`/autocoder retry` on a spec issue runs its initializer again (issue #13), decided from the
comment webhook alone (GitHub's own example payload, the issue's labels changed): the same
command on any other issue stays a retry of its session."""

from __future__ import annotations

from typing import Any

import pytest

from runner.decide import SPEC_LABEL, Action, decide
from tests.runner.test_decide import RULES, sample


def retry_on(labels: list[str], body: str = "/autocoder retry") -> Any:
    payload = sample(
        "issue_comment.created",
        comment__body=body,
        issue__labels=[{"name": name} for name in labels],
    )
    payload["issue"].pop("pull_request", None)
    return decide("issue_comment", payload, RULES)


def test_retry_on_a_spec_runs_its_initializer() -> None:
    decision = retry_on(["enhancement", SPEC_LABEL])
    assert decision.action is Action.INITIALIZE
    assert decision.needs_write
    assert decision.work_kind is not None and decision.work_kind.value == "initialize"
    assert "initializer again" in decision.reason


@pytest.mark.parametrize(
    ("labels", "body", "action"),
    [
        (["autocoder"], "/autocoder retry", Action.RETRY),
        ([], "/autocoder retry", Action.RETRY),
        ([SPEC_LABEL], "/autocoder status", Action.STATUS),
        ([SPEC_LABEL], "/autocoder resume", Action.RESUME),
    ],
)
def test_other_commands_and_issues_are_unchanged(
    labels: list[str], body: str, action: Action
) -> None:
    assert retry_on(labels, body).action is action
