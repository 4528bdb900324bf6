"""Start-of-session decisions: which branch a session works on, and the pull request on it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner.github.types import PullInfo
from runner.task import Task
from runner.workspace import branch_name, run_git

if TYPE_CHECKING:
    from runner.session import SessionDeps


def choose_branch(task: Task, deps: SessionDeps, mirror: Path) -> tuple[str, PullInfo | None]:
    """The branch to work on, and the open pull request already on it, if any."""
    if task.pull_number is not None:
        current = deps.github.get_pull(task.repository, task.pull_number)
        return current.head_ref, current
    branch = branch_name(task.issue_number, task.title)
    # Only a branch that exists on the remote can head an open pull request: a first session
    # asks GitHub nothing here.
    existing = existing_issue_branches(mirror, task.issue_number)
    candidates = [branch, *existing] if branch in existing else existing
    for candidate in dict.fromkeys(candidates):
        pull = deps.github.find_open_pull(task.repository, candidate)
        if pull is not None:
            return candidate, pull
    return branch, None


def existing_issue_branches(mirror: Path, issue_number: int) -> list[str]:
    """Branches on the remote made for this issue by an earlier session (the title may have
    changed since, so the slug may differ). The mirror keeps remote heads under
    refs/remotes/origin/."""
    remote = "refs/remotes/origin/"
    prefix = f"{remote}autocoder/issue-{issue_number}"
    out = run_git(["for-each-ref", "--format=%(refname)", prefix, prefix + "-*"], cwd=mirror)
    return [line.removeprefix(remote) for line in out.splitlines() if line.strip()]
