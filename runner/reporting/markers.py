"""Hidden markers in text autocoder writes on GitHub, so it can find and edit that text later,
and recognise its own pull requests."""

from __future__ import annotations

import re


def status_comment_marker(issue_number: int) -> str:
    return f"<!-- autocoder:status issue={issue_number} -->"


def pull_request_marker(issue_number: int) -> str:
    return f"<!-- autocoder:pull-request issue={issue_number} -->"


_PR_MARKER = re.compile(r"<!-- autocoder:pull-request issue=(\d+) -->")


def issue_of_pull_request(body: str | None) -> int | None:
    """The issue an autocoder pull request works on, from its body's marker; None if not ours."""
    match = _PR_MARKER.search(body or "")
    return int(match.group(1)) if match else None
