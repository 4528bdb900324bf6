"""Build a Task from what GitHub says about an issue or a review (the I/O half of making a task).

Comments are kept with whether their author may write to the repository: the prompt includes only
those, so a passer-by's comment cannot steer the session.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from runner.github.client import GitHubClient
from runner.github.types import IssueInfo
from runner.task import Comment, Limits, Review, ReviewComment, Task, TaskKind

_SHORT = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")
_ISSUE_PATH = re.compile(r"^/(?P<repo>[\w.-]+/[\w.-]+)/issues/(?P<number>\d+)/?$")
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})


class IssueReferenceError(ValueError):
    """Text that names no issue; the message says what would."""


@dataclass(frozen=True)
class IssueReference:
    repository: str  # OWNER/REPO
    number: int
    api_url: str | None = None  # the REST root of a GitHub Enterprise Server the URL is on


def parse_issue_reference(text: str) -> IssueReference:
    """`OWNER/REPO#N`, or an issue's web address: https://github.com/OWNER/REPO/issues/N, or on
    GitHub Enterprise Server https://HOST/OWNER/REPO/issues/N (whose API is https://HOST/api/v3)."""
    value = text.strip()
    match = _SHORT.match(value)
    if match is not None:
        return _checked(match.group("repo"), match.group("number"), None, text)
    url = urllib.parse.urlsplit(value)
    if url.scheme in ("http", "https") and url.hostname:
        if url.username or url.password:  # never echoed: it may hold a password or token
            raise IssueReferenceError("an issue URL must not carry credentials (user:secret@)")
        path = _ISSUE_PATH.match(url.path)
        if path is not None:
            host = url.hostname.lower()
            api_url = None
            if host not in GITHUB_HOSTS:
                api_url = f"{url.scheme}://{url.netloc}/api/v3"
            return _checked(path.group("repo"), path.group("number"), api_url, text)
        if "/pull/" in url.path:
            raise IssueReferenceError(
                f"{text!r} is a pull request; give the issue it closes (OWNER/REPO#N or the "
                "issue's URL)"
            )
    raise IssueReferenceError(
        f"{text!r} is not OWNER/REPO#N or an issue URL (for example octo-org/app#12 or "
        "https://github.com/octo-org/app/issues/12)"
    )


def _checked(repo: str, number: str, api_url: str | None, text: str) -> IssueReference:
    if ".." in repo or int(number) < 1:
        raise IssueReferenceError(f"{text!r} does not name an issue")
    return IssueReference(repo, int(number), api_url)


def load_issue_task(
    github: GitHubClient,
    repository: str,
    issue_number: int,
    *,
    triggered_by: str,
    limits: Limits,
    bot_login: str | None = None,
    known: IssueInfo | None = None,
    comment_count: int | None = None,
) -> Task:
    """The issue (`known`: as the caller already has it, not read again) and its comments
    (`comment_count` 0: it has none, so they are not listed — and the client knows so)."""
    issue = known if known is not None else github.get_issue(repository, issue_number)
    if comment_count == 0:
        github.know_issue_comments(repository, issue_number, ())
    listed = [] if comment_count == 0 else github.list_issue_comments(repository, issue_number)
    comments = []
    permitted: dict[str, bool] = {}
    for comment in listed:
        if bot_login and comment.author == bot_login:
            continue  # our own status comment is not part of the task
        if comment.author not in permitted:
            permitted[comment.author] = github.can_write(repository, comment.author)
        comments.append(Comment(comment.author, comment.body, permitted[comment.author]))
    return Task(
        repository=repository,
        issue_number=issue_number,
        title=issue.title,
        body=issue.body or "",
        triggered_by=triggered_by,
        comments=tuple(comments),
        limits=limits,
    )


def load_follow_up_task(
    github: GitHubClient,
    repository: str,
    pull_number: int,
    issue_number: int,
    review_id: int | None,
    *,
    triggered_by: str,
    limits: Limits,
) -> Task:
    """A follow-up on autocoder's pull request: the review (or, without one, the newest review
    comments by `triggered_by`) becomes the task."""
    issue = github.get_issue(repository, issue_number)
    pull = github.get_pull(repository, pull_number)
    reviews = github.list_reviews(repository, pull_number)
    chosen = next((r for r in reviews if r.id == review_id), None) if review_id else None
    if chosen is None:
        mine = [r for r in reviews if r.author == triggered_by]
        chosen = mine[-1] if mine else None
    inline = github.list_review_comments(
        repository, pull_number, review_id=chosen.id if chosen else None
    )
    review = Review(
        id=chosen.id if chosen else 0,
        author=chosen.author if chosen else triggered_by,
        state=(chosen.state if chosen else "commented").lower(),
        body=chosen.body if chosen and chosen.body else "",
        comments=tuple(
            ReviewComment(c.id, c.author, c.body, c.path, c.line)
            for c in inline
            if c.author == (chosen.author if chosen else triggered_by)
        ),
    )
    return Task(
        repository=repository,
        issue_number=issue_number,
        title=issue.title,
        body=issue.body or "",
        triggered_by=triggered_by,
        base_branch=pull.base_ref,
        kind=TaskKind.FOLLOW_UP,
        review=review,
        pull_number=pull_number,
        limits=limits,
    )
