"""Build a Task from what GitHub says about an issue or a review (the I/O half of making a task).

Comments are kept with whether their author may write to the repository: the prompt includes only
those, so a passer-by's comment cannot steer the session.
"""

from __future__ import annotations

from runner.github.client import GitHubClient
from runner.task import Comment, Limits, Review, ReviewComment, Task, TaskKind


def load_issue_task(
    github: GitHubClient,
    repository: str,
    issue_number: int,
    *,
    triggered_by: str,
    limits: Limits,
    bot_login: str | None = None,
) -> Task:
    issue = github.get_issue(repository, issue_number)
    comments = []
    permitted: dict[str, bool] = {}
    for comment in github.list_issue_comments(repository, issue_number):
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
