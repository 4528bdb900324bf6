"""Pure parts of runner.github: conversions, check-run limits, retry rules, error messages."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from runner.github import (
    CheckRunAction,
    GitHubAuthError,
    GitHubCredentials,
    GitHubNotFoundError,
    GitHubRateLimitError,
    RetryPolicy,
)
from runner.github.auth import split_repo
from runner.github.checks import (
    OUTPUT_TEXT_LIMIT,
    TRUNCATION_NOTE,
    action_payload,
    build_output,
    truncate,
)
from runner.github.convert import (
    check_run_from_json,
    issue_from_json,
    pull_from_json,
    rate_limit_from_json,
    review_comment_from_json,
)
from runner.github.retry import Failure, is_idempotent_post
from runner.github.translate import error_for_response

TOKEN = "ghs_unitTestSecretToken0123456789"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEnotarealkey\n-----END RSA PRIVATE KEY-----\n"


# -- conversions ------------------------------------------------------------------------------


def test_issue_from_json_reads_labels_author_and_pull_marker() -> None:
    data = {
        "number": 7,
        "title": "Add a flag",
        "body": None,
        "state": "open",
        "labels": [{"name": "autocoder"}, {"name": "bug"}],
        "user": {"login": "octocat"},
        "html_url": "https://github.com/o/r/issues/7",
        "pull_request": {"url": "x"},
    }
    issue = issue_from_json(data)
    assert issue.labels == ("autocoder", "bug")
    assert issue.body == ""
    assert issue.author == "octocat"
    assert issue.is_pull_request
    assert not issue_from_json({**data, "pull_request": None}).is_pull_request


def test_pull_review_comment_check_run_and_rate_limit_from_json() -> None:
    pull = pull_from_json(
        {
            "number": 3,
            "html_url": "h",
            "state": "open",
            "draft": True,
            "head": {"ref": "autocoder/issue-1-x", "sha": "abc"},
            "base": {"ref": "main"},
            "body": "Closes #1",
            "user": {"login": "autocoder[bot]"},
        }
    )
    assert (pull.head_ref, pull.head_sha, pull.base_ref, pull.draft) == (
        "autocoder/issue-1-x",
        "abc",
        "main",
        True,
    )
    comment = review_comment_from_json(
        {"id": 5, "user": {"login": "a"}, "body": "b", "path": "p.py", "original_line": 9}
    )
    assert comment.line == 9 and comment.in_reply_to_id is None
    run = check_run_from_json(
        {"id": 1, "html_url": "u", "head_sha": "s", "status": "queued", "conclusion": None}
    )
    assert run.conclusion is None
    limit = rate_limit_from_json(
        {"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": 1700000000}}}
    )
    assert limit.remaining == 4999
    assert limit.reset_at == datetime.fromtimestamp(1700000000, UTC)


# -- check-run payloads -----------------------------------------------------------------------


def test_truncate_keeps_short_text_and_marks_cut_text() -> None:
    assert truncate("short") == "short"
    long = "x" * (OUTPUT_TEXT_LIMIT + 10)
    cut = truncate(long)
    assert len(cut) == OUTPUT_TEXT_LIMIT
    assert cut.endswith(TRUNCATION_NOTE)
    assert "…(truncated)" in build_output("t", long, long)["text"]


@pytest.mark.parametrize(
    ("actions", "words"),
    [
        ([CheckRunAction("x" * 21, "d", "i")], "label"),
        ([CheckRunAction("l", "d" * 41, "i")], "description"),
        ([CheckRunAction("l", "d", "i" * 21)], "identifier"),
        ([CheckRunAction("", "d", "i")], "label"),
        ([CheckRunAction("l", "d", f"i{n}") for n in range(4)], "at most 3"),
    ],
)
def test_invalid_actions_raise_value_error(actions: list[CheckRunAction], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        action_payload(actions)


def test_valid_actions_become_payload() -> None:
    assert action_payload([CheckRunAction("Cancel", "Stop this session", "cancel")]) == [
        {"label": "Cancel", "description": "Stop this session", "identifier": "cancel"}
    ]


# -- retry rules ----------------------------------------------------------------------------


POLICY = RetryPolicy(backoff_factor=1, backoff_max=8, max_rate_limit_wait=5)


def test_post_5xx_is_not_retried_blindly_but_patch_is() -> None:
    def wait(method: str, url: str, failure: Failure = Failure.SERVER) -> float | None:
        return POLICY.wait_before_retry(method, url, failure, attempt=1, waited=0)

    assert wait("POST", "/repos/o/r/pulls") is None
    assert wait("POST", "/repos/o/r/pulls", Failure.BROKEN) is None
    assert wait("PATCH", "/repos/o/r/check-runs/1") == 1.0
    assert wait("POST", "/repos/o/r/issues/1/reactions") == 1.0
    assert wait("GET", "/repos/o/r", Failure.UNREACHABLE) is None  # a wrong URL: fail at once
    assert is_idempotent_post("/api/v3/repos/o/r/pulls/1/requested_reviewers")
    assert not is_idempotent_post("/repos/o/r/issues/1/comments")


def test_rate_limit_retry_after_is_honoured_and_bounded() -> None:
    def wait(headers: dict[str, str]) -> float | None:
        return POLICY.wait_before_retry(
            "POST", "/repos/o/r/pulls", Failure.RATE_LIMIT, attempt=1, waited=0, headers=headers
        )

    assert wait({"Retry-After": "1"}) == 1.0  # even a create: GitHub did nothing
    assert wait({"Retry-After": "60"}) is None  # longer than max_rate_limit_wait: raise
    assert wait({}) is None  # a secondary limit's default wait (60 s) is longer too


def test_429_without_retry_after_waits_for_the_reset() -> None:
    policy = RetryPolicy(max_rate_limit_wait=30)
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3)}
    wait = policy.wait_before_retry(
        "GET", "/repos/o/r", Failure.RATE_LIMIT, attempt=1, waited=0, headers=reset
    )
    assert wait is not None and 2 <= wait <= 5


def test_total_retry_time_and_count_are_bounded() -> None:
    policy = RetryPolicy(retries=3, backoff_factor=10, backoff_max=10, max_total_wait=15)
    assert policy.wait_before_retry("GET", "/x", Failure.SERVER, attempt=1, waited=0) == 10
    assert policy.wait_before_retry("GET", "/x", Failure.SERVER, attempt=2, waited=10) is None
    assert (
        RetryPolicy(retries=2).wait_before_retry("GET", "/x", Failure.SERVER, attempt=3, waited=0)
        is None
    )


# -- errors and secrets ---------------------------------------------------------------------


def test_translated_errors_say_what_to_do_and_hide_secrets() -> None:
    bad = {"message": f"Bad credentials {TOKEN}"}
    error = error_for_response("reading issue #1 of o/r", 401, bad, {}, [TOKEN])
    assert isinstance(error, GitHubAuthError)
    assert TOKEN not in str(error) and "Check the token" in str(error)
    missing = error_for_response("x", 404, {"message": "Not Found"}, {}, [])
    assert isinstance(missing, GitHubNotFoundError)
    limited = error_for_response(
        "x", 403, {"message": "API rate limit exceeded"}, {"x-ratelimit-reset": "1700000000"}, []
    )
    assert isinstance(limited, GitHubRateLimitError)
    assert limited.reset_at == datetime.fromtimestamp(1700000000, UTC)


def test_credentials_never_show_secrets() -> None:
    token = GitHubCredentials.from_token(TOKEN)
    assert TOKEN not in repr(token) and TOKEN not in str(token)
    app = GitHubCredentials.from_app(123, PEM, 9)
    assert "PRIVATE" not in repr(app) and "MIIE" not in str(app)
    with pytest.raises(ValueError, match="PEM"):
        GitHubCredentials.from_app(1, "not a key")


@pytest.mark.parametrize("name", ["o/r", "my-org/my.repo_1"])
def test_split_repo_accepts_owner_name(name: str) -> None:
    assert "/".join(split_repo(name)) == name


@pytest.mark.parametrize("name", ["o", "o/r/x", "../r", "o/..", "o/r?x=1", ""])
def test_split_repo_refuses_anything_else(name: str) -> None:
    with pytest.raises(ValueError):
        split_repo(name)
