"""Plain, frozen views of GitHub objects.

These are what the rest of autocoder sees of GitHub: no PyGithub object ever leaves
`runner.github`, so reading a field can never send a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RepoInfo:
    full_name: str
    clone_url: str
    default_branch: str
    private: bool
    html_url: str


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    author: str
    html_url: str
    is_pull_request: bool


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    body: str
    html_url: str


@dataclass(frozen=True)
class PullInfo:
    number: int
    html_url: str
    state: str
    draft: bool
    head_ref: str
    head_sha: str
    base_ref: str
    body: str
    author: str
    title: str = ""


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    author: str
    state: str
    body: str
    commit_id: str


@dataclass(frozen=True)
class ReviewCommentInfo:
    id: int
    author: str
    body: str
    path: str
    line: int | None
    in_reply_to_id: int | None


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    html_url: str
    head_sha: str
    status: str
    conclusion: str | None
    external_id: str | None = None  # autocoder's names the issue (`autocoder:issue-N:…`)


@dataclass(frozen=True)
class CheckRunAction:
    """A button on a check run; pressing it sends `check_run.requested_action`."""

    label: str
    description: str
    identifier: str


@dataclass(frozen=True)
class RateLimitInfo:
    remaining: int
    limit: int
    reset_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP exchange with GitHub, as seen by a request hook (for metrics)."""

    method: str
    path: str
    status: int
    rate_limit_remaining: int | None
