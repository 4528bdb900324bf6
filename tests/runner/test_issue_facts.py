"""What a webhook already says about an issue and its repository, carried in the work order
(issue #11): read from GitHub's own example payloads, and refused where it would mislead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.work_order import IssueFacts

SAMPLES = Path(__file__).parents[1] / "samples" / "webhooks"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return data


def test_a_labelled_issue_gives_its_text_author_and_repository() -> None:
    facts = IssueFacts.from_webhook(sample("issues.labeled.1"), 1)
    assert facts is not None
    issue, repo = facts.issue(1), facts.repository("Codertocat/Hello-World")
    assert (issue.title, issue.author, issue.is_pull_request) == (
        "Spelling error in the README file",
        "Codertocat",
        False,
    )
    assert "bug" in issue.labels
    assert (repo.default_branch, repo.clone_url) == (
        "master",
        "https://github.com/Codertocat/Hello-World.git",
    )
    assert facts.comments == 0  # the session need not list the comments


def test_a_new_comment_counts_even_when_the_payload_says_none() -> None:
    payload = sample("issue_comment.created.1")
    assert payload["issue"]["comments"] == 0  # GitHub's example was taken before it counted
    facts = IssueFacts.from_webhook(payload, 1)
    assert facts is not None and facts.comments == 1  # so the comments are listed


@pytest.mark.parametrize(
    ("name", "number", "change"),
    [
        ("issues.labeled.1", 2, {}),  # another issue than the job's
        ("issues.labeled.1", 1, {"pull_request": {"url": "https://x"}}),  # a pull request
        ("issues.labeled.1", 1, {"user": None}),  # no author to name
    ],
)
def test_no_facts_where_they_would_mislead(name: str, number: int, change: dict[str, Any]) -> None:
    payload = sample(name)
    payload["issue"].update(change)
    assert IssueFacts.from_webhook(payload, number) is None


def test_facts_survive_the_work_orders_json() -> None:
    facts = IssueFacts.from_webhook(sample("issues.labeled.1"), 1)
    assert facts is not None
    assert IssueFacts.model_validate(json.loads(facts.model_dump_json())) == facts
