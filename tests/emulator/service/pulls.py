"""Pull requests, reviews, review comments and pushes: the changes and the webhooks they cause."""

from __future__ import annotations

from typing import Any

from .. import gitrepo
from ..clock import iso
from ..core import Emu
from ..errors import (
    GitHubError,
    custom_error,
    invalid_field,
    missing_field,
    not_found,
    unprocessable,
    validation_failed,
)
from ..state import PullRequest, Repo, Review, ReviewComment, node_id
from .issues import Actor, open_issue, set_state

REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


def pull_of(repo: Repo, number: int) -> PullRequest:
    pull = repo.pulls.get(number)
    if pull is None:
        raise not_found()
    return pull


def pull_event(
    emu: Emu, repo: Repo, pull: PullRequest, actor: Actor, action: str, **extra: Any
) -> None:
    body: dict[str, Any] = {
        "action": action,
        "number": pull.number,
        "pull_request": emu.shapes.pull(repo, pull),
    }
    body.update(extra)
    emu.emit(repo, "pull_request", actor.user, body)


def _head_branch(repo: Repo, head: Any) -> str:
    if not isinstance(head, str) or not head:
        raise missing_field("PullRequest", "head")
    owner, sep, branch = head.partition(":")
    if not sep:
        return head
    if owner.lower() != repo.owner.login.lower():
        raise invalid_field("PullRequest", "head")
    return branch


def open_pull(
    emu: Emu,
    repo: Repo,
    actor: Actor,
    *,
    title: Any,
    head: Any,
    base: Any,
    body: Any = None,
    draft: bool = False,
) -> PullRequest:
    if not isinstance(title, str) or not title.strip():
        raise missing_field("PullRequest", "title")
    head_ref = _head_branch(repo, head)
    if not isinstance(base, str) or not base:
        raise missing_field("PullRequest", "base")
    branches = gitrepo.branches(repo.path)
    if head_ref not in branches:
        raise invalid_field("PullRequest", "head")
    if base not in branches:
        raise invalid_field("PullRequest", "base")
    for pull in repo.pulls.values():
        issue = repo.issues[pull.number]
        if issue.state == "open" and pull.head_ref == head_ref and pull.base_ref == base:
            raise custom_error(
                "PullRequest", f"A pull request already exists for {repo.owner.login}:{head_ref}."
            )
    head_sha, base_sha = branches[head_ref], branches[base]
    if not gitrepo.commits_between(repo.path, base_sha, head_sha):
        raise custom_error("PullRequest", f"No commits between {base} and {head_ref}")
    issue = open_issue(emu, repo, actor, title, body, is_pull=True)
    number = emu.world.new_id()
    pull = PullRequest(
        number=issue.number,
        id=number,
        node_id=node_id("PR_", number),
        head_ref=head_ref,
        head_sha=head_sha,
        base_ref=base,
        base_sha=base_sha,
        draft=bool(draft),
    )
    repo.pulls[pull.number] = pull
    pull_event(emu, repo, pull, actor, "opened")
    return pull


def edit_pull(
    emu: Emu, repo: Repo, pull: PullRequest, actor: Actor, fields: dict[str, Any]
) -> None:
    from .issues import edit_issue

    if "base" in fields and fields["base"] is not None and fields["base"] != pull.base_ref:
        branches = gitrepo.branches(repo.path)
        if fields["base"] not in branches:
            raise invalid_field("PullRequest", "base")
        old = pull.base_ref
        pull.base_ref = fields["base"]
        pull.base_sha = branches[pull.base_ref]
        pull_event(emu, repo, pull, actor, "edited", changes={"base": {"ref": {"from": old}}})
    issue_fields: dict[str, Any] = {k: fields[k] for k in ("title", "body", "state") if k in fields}
    edit_issue(emu, repo, repo.issues[pull.number], actor, issue_fields)


def request_reviewers(
    emu: Emu, repo: Repo, pull: PullRequest, actor: Actor, logins: list[str]
) -> None:
    for login in logins:
        user = emu.world.user(login)
        if user is None or repo.role_of(login) is None:
            raise validation_failed(
                message="Reviews may only be requested from collaborators. One or more of the "
                "users or teams you specified is not a collaborator of the "
                f"{repo.full_name} repository."
            )
        if user.login not in pull.requested_reviewers:
            pull.requested_reviewers.append(user.login)
            pull_event(
                emu, repo, pull, actor, "review_requested", requested_reviewer=emu.shapes.user(user)
            )


def _new_review_comment(
    emu: Emu, repo: Repo, pull: PullRequest, review_id: int, actor: Actor, spec: dict[str, Any]
) -> ReviewComment:
    body, path = spec.get("body"), spec.get("path")
    if not isinstance(body, str) or not body:
        raise missing_field("PullRequestReviewComment", "body")
    in_reply_to = spec.get("in_reply_to")
    if in_reply_to is not None:
        parent = repo.review_comments.get(int(in_reply_to))
        if parent is None:
            raise not_found()
        path, line, side = parent.path, parent.line, parent.side
    else:
        if not isinstance(path, str) or not path:
            raise missing_field("PullRequestReviewComment", "path")
        line = spec.get("line")
        if line is None and spec.get("position") is None and spec.get("subject_type") != "file":
            raise missing_field("PullRequestReviewComment", "line")
        side = spec.get("side") or "RIGHT"
    commit_id = spec.get("commit_id") or pull.head_sha
    now = emu.clock.now()
    number = emu.world.new_id()
    comment = ReviewComment(
        id=number,
        node_id=node_id("PRRC_", number),
        pull_number=pull.number,
        review_id=review_id,
        user=actor.user,
        body=body,
        path=path,
        commit_id=commit_id,
        diff_hunk=gitrepo.diff_hunk(repo.path, pull.base_sha, pull.head_sha, path, line),
        created_at=now,
        updated_at=now,
        line=line,
        side=side,
        start_line=spec.get("start_line"),
        start_side=spec.get("start_side"),
        position=spec.get("position")
        or gitrepo.diff_position(repo.path, pull.base_sha, pull.head_sha, path, line, side),
        in_reply_to_id=int(in_reply_to) if in_reply_to is not None else None,
        subject_type=spec.get("subject_type") or "line",
    )
    repo.review_comments[comment.id] = comment
    return comment


def _new_review(
    emu: Emu, pull: PullRequest, actor: Actor, body: str, state: str, commit_id: str
) -> Review:
    number = emu.world.new_id()
    return Review(
        id=number,
        node_id=node_id("PRR_", number),
        pull_number=pull.number,
        user=actor.user,
        body=body,
        state=state,
        commit_id=commit_id,
        submitted_at=emu.clock.now() if state != "PENDING" else None,
    )


def submit_review(
    emu: Emu,
    repo: Repo,
    pull: PullRequest,
    actor: Actor,
    *,
    body: Any = None,
    event: Any = None,
    comments: list[dict[str, Any]] | None = None,
    commit_id: Any = None,
) -> Review:
    """Create a review; with an `event` it is submitted (webhooks), without it stays PENDING."""
    if event is not None and event not in REVIEW_EVENTS:
        raise invalid_field("PullRequestReview", "event")
    body_text = body if isinstance(body, str) else ""
    if event in ("REQUEST_CHANGES", "COMMENT") and not body_text and not comments:
        raise unprocessable(f"Review Can not {event.lower().replace('_', ' ')} without a body")
    if event == "REQUEST_CHANGES" and actor.user.id == repo.issues[pull.number].user.id:
        raise unprocessable("Review Can not request changes on your own pull request")
    if event == "APPROVE" and actor.user.id == repo.issues[pull.number].user.id:
        raise unprocessable("Review Can not approve your own pull request")
    state = REVIEW_EVENTS[event] if event else "PENDING"
    sha = commit_id if isinstance(commit_id, str) and commit_id else pull.head_sha
    review = _new_review(emu, pull, actor, body_text, state, sha)
    made = [_new_review_comment(emu, repo, pull, review.id, actor, dict(c)) for c in comments or []]
    repo.reviews[review.id] = review
    if state != "PENDING":
        pull.requested_reviewers = [r for r in pull.requested_reviewers if r != actor.user.login]
        _announce_review(emu, repo, pull, review, actor, made)
    return review


def _announce_review(
    emu: Emu,
    repo: Repo,
    pull: PullRequest,
    review: Review,
    actor: Actor,
    comments: list[ReviewComment],
) -> None:
    for comment in comments:
        emu.emit(
            repo,
            "pull_request_review_comment",
            actor.user,
            {
                "action": "created",
                "comment": emu.shapes.review_comment(repo, comment),
                "pull_request": emu.shapes.pull(repo, pull, simple=True),
            },
        )
    emu.emit(
        repo,
        "pull_request_review",
        actor.user,
        {
            "action": "submitted",
            "review": emu.shapes.review(repo, review),
            "pull_request": emu.shapes.pull(repo, pull, simple=True),
        },
    )


def submit_pending_review(
    emu: Emu, repo: Repo, pull: PullRequest, review: Review, actor: Actor, event: Any, body: Any
) -> None:
    if review.state != "PENDING":
        raise unprocessable("Can not submit a review that is not pending")
    if event not in REVIEW_EVENTS:
        raise invalid_field("PullRequestReview", "event")
    if isinstance(body, str) and body:
        review.body = body
    review.state = REVIEW_EVENTS[event]
    review.submitted_at = emu.clock.now()
    comments = [c for c in repo.review_comments.values() if c.review_id == review.id]
    _announce_review(emu, repo, pull, review, actor, comments)


def create_review_comment(
    emu: Emu, repo: Repo, pull: PullRequest, actor: Actor, spec: dict[str, Any]
) -> ReviewComment:
    """A single review comment (POST .../pulls/{n}/comments): GitHub wraps it in a review."""
    review = _new_review(emu, pull, actor, "", "COMMENTED", spec.get("commit_id") or pull.head_sha)
    comment = _new_review_comment(emu, repo, pull, review.id, actor, spec)
    repo.reviews[review.id] = review
    emu.emit(
        repo,
        "pull_request_review_comment",
        actor.user,
        {
            "action": "created",
            "comment": emu.shapes.review_comment(repo, comment),
            "pull_request": emu.shapes.pull(repo, pull, simple=True),
        },
    )
    return comment


# -- merging --------------------------------------------------------------------------------

MERGE_METHODS = ("merge", "squash", "rebase")


def merge_pull(
    emu: Emu,
    repo: Repo,
    pull: PullRequest,
    actor: Actor,
    *,
    merge_method: Any = None,
    sha: Any = None,
    commit_title: Any = None,
    commit_message: Any = None,
) -> str:
    """Merge `pull` into its base branch (a merge commit, or one squashed commit); the new
    base sha. The pull request closes as merged: `pull_request.closed` with `merged: true`,
    then the base branch's `push`. Rebase merging is off on every emulated repository."""
    method = merge_method if merge_method is not None else "merge"
    if method not in MERGE_METHODS:
        raise invalid_field("PullRequest", "merge_method")
    if method == "rebase":
        raise GitHubError(405, "Rebase merges are not allowed on this repository.")
    issue = repo.issues[pull.number]
    if issue.state != "open" or pull.merged:
        raise GitHubError(405, "Pull Request is not mergeable")
    if sha is not None and sha != pull.head_sha:
        raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
    ref = f"refs/heads/{pull.base_ref}"
    base = gitrepo.resolve(repo.path, ref)
    if base is None or gitrepo.resolve(repo.path, pull.head_sha) is None:
        raise GitHubError(405, "Pull Request is not mergeable")
    tree = gitrepo.merge_tree(repo.path, base, pull.head_sha)
    if tree is None:  # conflicts
        raise GitHubError(405, "Pull Request is not mergeable")
    if method == "squash":
        title = f"{issue.title} (#{pull.number})"
        messages = [
            gitrepo.commit_info(repo.path, c).message.strip()
            for c in gitrepo.commits_between(repo.path, base, pull.head_sha)
        ]
        detail = "\n\n".join(f"* {m}" for m in messages)
        parents = [base]
    else:
        title = f"Merge pull request #{pull.number} from {repo.owner.login}/{pull.head_ref}"
        detail = issue.title
        parents = [base, pull.head_sha]
    if isinstance(commit_title, str) and commit_title:
        title = commit_title
    if isinstance(commit_message, str):
        detail = commit_message
    user = actor.user
    now = emu.clock.now()
    merged = gitrepo.commit_tree(
        repo.path,
        tree,
        parents,
        f"{title}\n\n{detail}".rstrip() + "\n",
        now,
        author=(user.name or user.login, user.email or f"{user.login}@users.noreply.github.com"),
    )
    gitrepo.update_ref(repo.path, ref, merged, base)
    pull.merged, pull.merged_at, pull.merged_by = True, now, user
    pull.merge_commit_sha = merged
    set_state(emu, repo, issue, actor, "closed")  # pull_request.closed, merged: true
    record_push(emu, repo, actor, {ref: (base, merged)})
    return merged


# -- pushes -----------------------------------------------------------------------------------


def _push_commit(emu: Emu, repo: Repo, sha: str) -> dict[str, Any]:
    info = gitrepo.commit_info(repo.path, sha)
    parent = info.parents[0] if info.parents else None
    files = gitrepo.changed_files(repo.path, parent, sha) if parent else {}
    if parent is None:
        listing = gitrepo.git(repo.path, "ls-tree", "-r", "--name-only", sha).split()
        files = dict.fromkeys(listing, "A")

    def person(name: str, email: str) -> dict[str, Any]:
        data: dict[str, Any] = {"name": name, "email": email}
        user = next((u for u in emu.world.users.values() if u.email == email), None)
        if user is not None:
            data["username"] = user.login
        return data

    return {
        "id": info.sha,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": iso(info.committer_date),
        "url": f"{emu.base_url}/{repo.full_name}/commit/{info.sha}",
        "author": person(info.author_name, info.author_email),
        "committer": person(info.committer_name, info.committer_email),
        "added": sorted(p for p, s in files.items() if s == "A"),
        "removed": sorted(p for p, s in files.items() if s == "D"),
        "modified": sorted(p for p, s in files.items() if s == "M"),
    }


def _push_repository(emu: Emu, repo: Repo) -> dict[str, Any]:
    data = emu.shapes.repo(repo)
    data["owner"] = dict(data["owner"], name=repo.owner.login, email=repo.owner.email)
    data["created_at"] = int(repo.created_at.timestamp())
    data["pushed_at"] = int(repo.pushed_at.timestamp())
    data["stargazers"] = 0
    data["master_branch"] = repo.default_branch
    return data


ZERO = "0" * 40


def record_push(
    emu: Emu, repo: Repo, actor: Actor, changes: dict[str, tuple[str | None, str | None]]
) -> None:
    """React to moved refs (a git push or a REST ref change): `push` events and PR syncs."""
    if not changes:
        return
    repo.pushed_at = emu.clock.now()
    repo.updated_at = repo.pushed_at
    announce = bool(emu.listeners(repo, "push"))
    for ref, (old, new) in sorted(changes.items()):
        if announce:
            _announce_push(emu, repo, actor, ref, old, new)
        if ref.startswith("refs/heads/") and new is not None:
            _synchronize(emu, repo, actor, ref.removeprefix("refs/heads/"), new)


def _announce_push(
    emu: Emu, repo: Repo, actor: Actor, ref: str, old: str | None, new: str | None
) -> None:
    created, deleted = old is None, new is None
    forced = bool(old and new and not gitrepo.is_ancestor(repo.path, old, new))
    shas: list[str] = []
    if new is not None:
        if old is None:
            others = [s for r, s in gitrepo.refs(repo.path, "refs/heads/").items() if r != ref]
            spec = [new, *(f"^{s}" for s in others)]
            shas = gitrepo.git(repo.path, "rev-list", "--reverse", *spec).split()
        else:
            shas = gitrepo.commits_between(repo.path, old, new)
    commits = [_push_commit(emu, repo, sha) for sha in shas[-20:]]
    head_commit = _push_commit(emu, repo, new) if new else None
    before, after = old or ZERO, new or ZERO
    body = {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": _push_repository(emu, repo),
        "pusher": {"name": actor.user.login, "email": actor.user.email},
        "created": created,
        "deleted": deleted,
        "forced": forced,
        "base_ref": None,
        "compare": f"{emu.base_url}/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
        "commits": commits,
        "head_commit": head_commit,
    }
    emu.emit(repo, "push", actor.user, body)


def _synchronize(emu: Emu, repo: Repo, actor: Actor, branch: str, new: str) -> None:
    """Open pull requests from `branch` follow it: new head sha, `pull_request.synchronize`."""
    for pull in repo.pulls.values():
        if pull.head_ref != branch or repo.issues[pull.number].state != "open":
            continue
        if pull.head_sha == new:
            continue
        previous = pull.head_sha
        pull.head_sha = new
        repo.issues[pull.number].updated_at = emu.clock.now()
        pull_event(emu, repo, pull, actor, "synchronize", before=previous, after=new)
