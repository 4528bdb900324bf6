"""Pure conversions from GitHub's JSON (as GitHub sent it) to our dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runner.github.types import (
    CheckRunInfo,
    CommentInfo,
    IssueInfo,
    PullInfo,
    RateLimitInfo,
    RepoInfo,
    ReviewCommentInfo,
    ReviewInfo,
)

Json = Mapping[str, Any]


def _login(user: Any) -> str:
    if isinstance(user, Mapping):
        return str(user.get("login") or "")
    return ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def repo_from_json(data: Json) -> RepoInfo:
    return RepoInfo(
        full_name=str(data["full_name"]),
        clone_url=_text(data.get("clone_url")),
        default_branch=_text(data.get("default_branch")) or "main",
        private=bool(data.get("private", False)),
        html_url=_text(data.get("html_url")),
    )


def issue_from_json(data: Json) -> IssueInfo:
    labels = tuple(
        str(label["name"]) if isinstance(label, Mapping) else str(label)
        for label in data.get("labels") or ()
    )
    return IssueInfo(
        number=int(data["number"]),
        title=_text(data.get("title")),
        body=_text(data.get("body")),
        state=_text(data.get("state")),
        labels=labels,
        author=_login(data.get("user")),
        html_url=_text(data.get("html_url")),
        is_pull_request=data.get("pull_request") is not None,
    )


def comment_from_json(data: Json) -> CommentInfo:
    return CommentInfo(
        id=int(data["id"]),
        author=_login(data.get("user")),
        body=_text(data.get("body")),
        html_url=_text(data.get("html_url")),
    )


def pull_from_json(data: Json) -> PullInfo:
    head = data.get("head") or {}
    base = data.get("base") or {}
    return PullInfo(
        number=int(data["number"]),
        html_url=_text(data.get("html_url")),
        state=_text(data.get("state")),
        draft=bool(data.get("draft", False)),
        head_ref=_text(head.get("ref")),
        head_sha=_text(head.get("sha")),
        base_ref=_text(base.get("ref")),
        body=_text(data.get("body")),
        author=_login(data.get("user")),
        title=_text(data.get("title")),
    )


def review_from_json(data: Json) -> ReviewInfo:
    return ReviewInfo(
        id=int(data["id"]),
        author=_login(data.get("user")),
        state=_text(data.get("state")),
        body=_text(data.get("body")),
        commit_id=_text(data.get("commit_id")),
    )


def review_comment_from_json(data: Json) -> ReviewCommentInfo:
    line = data.get("line")
    if line is None:
        line = data.get("original_line")
    return ReviewCommentInfo(
        id=int(data["id"]),
        author=_login(data.get("user")),
        body=_text(data.get("body")),
        path=_text(data.get("path")),
        line=_optional_int(line),
        in_reply_to_id=_optional_int(data.get("in_reply_to_id")),
    )


def check_run_from_json(data: Json) -> CheckRunInfo:
    conclusion = data.get("conclusion")
    return CheckRunInfo(
        id=int(data["id"]),
        html_url=_text(data.get("html_url")),
        head_sha=_text(data.get("head_sha")),
        status=_text(data.get("status")),
        conclusion=None if conclusion is None else str(conclusion),
        external_id=None if data.get("external_id") is None else str(data["external_id"]),
    )


def rate_limit_from_json(data: Json) -> RateLimitInfo:
    """From GET /rate_limit: the `core` resource (what REST calls spend)."""
    resources = data.get("resources") or {}
    core = resources.get("core") or data.get("rate") or {}
    return RateLimitInfo(
        remaining=int(core.get("remaining", 0)),
        limit=int(core.get("limit", 0)),
        reset_at=datetime.fromtimestamp(int(core.get("reset", 0)), UTC),
    )
