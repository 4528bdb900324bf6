"""Sub-issues and issue dependencies ("blocked by"): the changes, GitHub's refusals, and the
`sub_issues` / `issue_dependencies` webhooks they cause.

Relations are kept by issue number on the `Issue` (`parent`, `sub_issues`, `blocked_by`);
requests name the other issue by its `id`, as GitHub's REST API does. Both ends must be in the
same repository here (GitHub also allows other repositories of the same owner).
"""

from __future__ import annotations

from typing import Any

from ..core import Emu
from ..errors import GitHubError, custom_error, not_found
from ..state import Issue, Repo
from .issues import Actor

MAX_SUB_ISSUES = 100  # GitHub's limit per parent
MAX_DEPTH = 8  # GitHub's limit on nesting levels
MAX_DEPENDENCIES = 50  # GitHub's limit per relation type


def issue_by_id(repo: Repo, issue_id: Any, field: str, *, removing: bool = False) -> Issue:
    """The issue (not a pull request) of `repo` whose `id` is `issue_id`: else a 422 naming the
    field when adding, a 400 / 404 when removing (the statuses GitHub documents for each)."""
    if not isinstance(issue_id, int) or isinstance(issue_id, bool):
        if removing:
            raise GitHubError(400, f"{field} must be an integer issue id")
        raise custom_error("Issue", f"{field} must be an integer issue id", field)
    for issue in repo.issues.values():
        if issue.id == issue_id and not issue.is_pull:
            return issue
    message = (
        f"no issue with id {issue_id} in {repo.full_name} (the emulator links issues of one "
        "repository only)"
    )
    if removing:
        raise not_found(message)
    raise custom_error("Issue", message, field)


def plain_issue(repo: Repo, number: int) -> Issue:
    issue = repo.issues.get(number)
    if issue is None or issue.is_pull:
        raise not_found()
    return issue


def _depth_above(repo: Repo, issue: Issue) -> int:
    depth, seen, current = 0, set(), issue
    while current.parent is not None and current.number not in seen:
        seen.add(current.number)
        depth += 1
        current = repo.issues[current.parent]
    return depth


def _ancestors(repo: Repo, issue: Issue) -> set[int]:
    found: set[int] = set()
    current = issue
    while current.parent is not None and current.parent not in found:
        found.add(current.parent)
        current = repo.issues[current.parent]
    return found


def add_sub_issue(
    emu: Emu, repo: Repo, parent: Issue, actor: Actor, child: Issue, *, replace_parent: bool
) -> None:
    if child.number == parent.number:
        raise custom_error("Issue", "An issue cannot be a sub-issue of itself", "sub_issue_id")
    if child.number in _ancestors(repo, parent):
        raise custom_error("Issue", "An issue cannot be a sub-issue of its own sub-issue")
    if child.parent == parent.number:
        raise custom_error("Issue", "Issue is already a sub-issue of this issue")
    if child.parent is not None and not replace_parent:
        raise custom_error(
            "Issue",
            "Issue may not contain duplicate sub-issues; it already has "
            "a parent (send replace_parent: true to move it)",
        )
    if len(parent.sub_issues) >= MAX_SUB_ISSUES:
        raise custom_error("Issue", f"An issue can have at most {MAX_SUB_ISSUES} sub-issues")
    if _depth_above(repo, parent) + 1 >= MAX_DEPTH:
        raise custom_error("Issue", f"Sub-issues can be nested at most {MAX_DEPTH} levels deep")
    if child.parent is not None:
        remove_sub_issue(emu, repo, repo.issues[child.parent], actor, child)
    parent.sub_issues.append(child.number)
    child.parent = parent.number
    _sub_issue_events(emu, repo, parent, child, actor, "added")


def remove_sub_issue(emu: Emu, repo: Repo, parent: Issue, actor: Actor, child: Issue) -> None:
    if child.parent != parent.number:
        raise not_found(f"Issue #{child.number} is not a sub-issue of #{parent.number}")
    parent.sub_issues.remove(child.number)
    child.parent = None
    _sub_issue_events(emu, repo, parent, child, actor, "removed")


def reprioritize(
    repo: Repo, parent: Issue, child: Issue, after: Issue | None, before: Issue | None
) -> None:
    """Move `child` right after `after` or right before `before` in `parent`'s list."""
    if (after is None) == (before is None):
        raise GitHubError(422, "Specify exactly one of after_id or before_id")
    anchor = after if after is not None else before
    assert anchor is not None
    for issue in (child, anchor):
        if issue.parent != parent.number:
            raise GitHubError(422, f"Issue #{issue.number} is not a sub-issue of #{parent.number}")
    if anchor.number == child.number:
        return
    order = [n for n in parent.sub_issues if n != child.number]
    at = order.index(anchor.number) + (1 if after is not None else 0)
    order.insert(at, child.number)
    parent.sub_issues[:] = order


def add_blocked_by(emu: Emu, repo: Repo, blocked: Issue, actor: Actor, blocking: Issue) -> None:
    if blocking.number == blocked.number:
        raise custom_error("Issue", "An issue cannot be blocked by itself", "issue_id")
    if blocking.number in blocked.blocked_by:
        raise custom_error("Issue", "Issue is already blocked by this issue", "issue_id")
    if len(blocked.blocked_by) >= MAX_DEPENDENCIES:
        raise custom_error("Issue", f"An issue can be blocked by at most {MAX_DEPENDENCIES} issues")
    blocked.blocked_by.append(blocking.number)
    _dependency_events(emu, repo, blocked, blocking, actor, "added")


def remove_blocked_by(emu: Emu, repo: Repo, blocked: Issue, actor: Actor, blocking: Issue) -> None:
    if blocking.number not in blocked.blocked_by:
        raise not_found(f"Issue #{blocked.number} is not blocked by #{blocking.number}")
    blocked.blocked_by.remove(blocking.number)
    _dependency_events(emu, repo, blocked, blocking, actor, "removed")


def blocking_of(repo: Repo, issue: Issue) -> list[Issue]:
    """The issues `issue` blocks, in issue-number order."""
    return sorted(
        (i for i in repo.issues.values() if issue.number in i.blocked_by), key=lambda i: i.number
    )


def organization(emu: Emu, repo: Repo) -> dict[str, Any] | None:
    """`organization` of a webhook payload: only for repositories an organization owns."""
    owner = repo.owner
    if owner.type != "Organization":
        return None
    url = f"{emu.base_url}/orgs/{owner.login}"
    return {
        "login": owner.login,
        "id": owner.id,
        "node_id": owner.node_id,
        "url": url,
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": emu.shapes.user(owner)["avatar_url"],
        "description": None,
    }


def _with_org(emu: Emu, repo: Repo, body: dict[str, Any]) -> dict[str, Any]:
    org = organization(emu, repo)
    if org is not None:
        body["organization"] = org
    return body


def _sub_issue_events(
    emu: Emu, repo: Repo, parent: Issue, child: Issue, actor: Actor, change: str
) -> None:
    """`sub_issues.sub_issue_<change>` for the parent and `parent_issue_<change>` for the child
    (both to the one repository here)."""
    parent_shape, child_shape = emu.shapes.issue(repo, parent), emu.shapes.issue(repo, child)
    repo_shape = emu.shapes.repo(repo)
    common = {
        "parent_issue_id": parent.id,
        "parent_issue": parent_shape,
        "sub_issue_id": child.id,
        "sub_issue": child_shape,
    }
    emu.emit(
        repo,
        "sub_issues",
        actor.user,
        _with_org(
            emu, repo, {"action": f"sub_issue_{change}", **common, "sub_issue_repo": repo_shape}
        ),
    )
    emu.emit(
        repo,
        "sub_issues",
        actor.user,
        _with_org(
            emu,
            repo,
            {"action": f"parent_issue_{change}", **common, "parent_issue_repo": repo_shape},
        ),
    )


def _dependency_events(
    emu: Emu, repo: Repo, blocked: Issue, blocking: Issue, actor: Actor, change: str
) -> None:
    """`issue_dependencies.blocked_by_<change>` then `blocking_<change>`."""
    repo_shape = emu.shapes.repo(repo)
    common = {
        "blocked_issue_id": blocked.id,
        "blocked_issue": emu.shapes.issue(repo, blocked),
        "blocking_issue_id": blocking.id,
        "blocking_issue": emu.shapes.issue(repo, blocking),
    }
    emu.emit(
        repo,
        "issue_dependencies",
        actor.user,
        _with_org(
            emu,
            repo,
            {"action": f"blocked_by_{change}", **common, "blocking_issue_repo": repo_shape},
        ),
    )
    emu.emit(
        repo,
        "issue_dependencies",
        actor.user,
        _with_org(
            emu, repo, {"action": f"blocking_{change}", **common, "blocked_issue_repo": repo_shape}
        ),
    )
