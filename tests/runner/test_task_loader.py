"""What `autocoder run` accepts as an issue: OWNER/REPO#N or the issue's web address, on
github.com or a GitHub Enterprise Server host (issue #10)."""

from __future__ import annotations

import pytest

from runner.task_loader import IssueReference, IssueReferenceError, parse_issue_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("octo-org/app#12", IssueReference("octo-org/app", 12)),
        (" octo-org/app#12 ", IssueReference("octo-org/app", 12)),
        ("https://github.com/o/r/issues/5", IssueReference("o/r", 5)),
        ("https://github.com/o/r/issues/5/", IssueReference("o/r", 5)),
        ("https://www.github.com/o/r/issues/5", IssueReference("o/r", 5)),
        (
            "https://ghe.example.com/team/service/issues/77",
            IssueReference("team/service", 77, "https://ghe.example.com/api/v3"),
        ),
        (
            "http://127.0.0.1:8080/o/r/issues/5",
            IssueReference("o/r", 5, "http://127.0.0.1:8080/api/v3"),
        ),
    ],
)
def test_accepted(text: str, expected: IssueReference) -> None:
    assert parse_issue_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("o/r", "is not OWNER/REPO#N or an issue URL"),
        ("https://github.com/o/r", "is not OWNER/REPO#N or an issue URL"),
        ("https://github.com/o/r/pull/5", "is a pull request"),
        ("ftp://github.com/o/r/issues/5", "is not OWNER/REPO#N or an issue URL"),
        ("../x#1", "does not name an issue"),
        ("o/r#0", "does not name an issue"),
    ],
)
def test_refused_with_what_would_do(text: str, says: str) -> None:
    with pytest.raises(IssueReferenceError, match=says):
        parse_issue_reference(text)


def test_credentials_in_the_url_are_refused_and_never_echoed() -> None:
    with pytest.raises(IssueReferenceError) as refused:
        parse_issue_reference("https://me:hunter2@github.com/o/r/issues/5")
    assert "hunter2" not in str(refused.value)
