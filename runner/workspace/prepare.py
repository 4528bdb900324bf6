"""Making a session's working copy: a `git worktree` of the mirror on the session's branch
(`prepare_worktree`, reclaiming one a killed session left behind), or a plain clone taken as one
(`open_checkout`). What a session does with it is `runner.workspace.worktree.Worktree`.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from runner.workspace.errors import BranchInUse, GitError, RefNotFound
from runner.workspace.git import run_git
from runner.workspace.lock import mirror_lock
from runner.workspace.mirror import REMOTE
from runner.workspace.worktree import Worktree, _delete_tree, _mirror_git

log = logging.getLogger(__name__)


def _remote_ref(branch: str) -> str:
    return f"refs/remotes/{REMOTE}/{branch}"


def _resolve(mirror: Path, ref: str) -> str | None:
    """The commit `ref` points at in `mirror`, or None when there is no such ref."""
    try:
        return _mirror_git(mirror, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError:
        return None


def _admin_dir(mirror: Path, dest: Path) -> Path:
    """The admin dir `git worktree add` just made for `dest` (read before any command ran)."""
    text = (dest / ".git").read_text(encoding="utf-8").strip()
    admin = Path(text.removeprefix("gitdir:").strip()).resolve()
    if admin.parent != (mirror / "worktrees").resolve():
        raise GitError(["git", "worktree", "add"], None, f"unexpected worktree admin dir {admin}")
    return admin


def prepare_worktree(
    mirror: Path,
    *,
    base_branch: str,
    branch: str,
    existing_branch: bool,
    dest: Path,
    start_sha: str | None = None,
) -> Worktree:
    """Add a worktree of `mirror` at `dest` with `branch` checked out.

    New work (`existing_branch=False`) starts `branch` at the head of `base_branch`, replacing
    any local branch of that name left by an earlier session. With `existing_branch=True` (a
    pull request is already open) it starts from the remote branch as last fetched into the
    mirror, and `base_sha` is its merge base with `base_branch`. `start_sha` (a commit in the
    mirror: the remote branch head, or the mirror's own branch left by an interrupted session)
    overrides where `branch` starts, whatever `existing_branch` says. Call
    `MirrorCache.update` first. Raises `RefNotFound`, `BranchInUse`, or `GitError`.
    """
    for name in (base_branch, branch):
        try:
            _mirror_git(mirror, "check-ref-format", "--branch", name)
        except GitError:
            raise ValueError(f"{name!r} is not a valid branch name") from None
    with mirror_lock(mirror):
        # Forget worktrees whose directories are gone (a session that died), freeing branches.
        _mirror_git(mirror, "worktree", "prune")
        base_head = _resolve(mirror, _remote_ref(base_branch))
        if base_head is None:
            raise RefNotFound(
                f"base branch {base_branch!r} is not in the mirror {mirror}: check its name, "
                "or update the mirror first"
            )
        remote_sha = _resolve(mirror, _remote_ref(branch))
        if start_sha is not None:
            start = _resolve(mirror, start_sha)
            if start is None:
                raise RefNotFound(f"commit {start_sha!r} is not in the mirror {mirror}")
            try:
                base_sha = _mirror_git(mirror, "merge-base", base_head, start).strip()
            except GitError:  # unrelated histories: count from the base head
                base_sha = base_head
        elif existing_branch:
            if remote_sha is None:
                raise RefNotFound(
                    f"branch {branch!r} is not on the remote (as of the last mirror update); "
                    "start new work instead, or update the mirror first"
                )
            start = remote_sha
            try:
                base_sha = _mirror_git(mirror, "merge-base", base_head, start).strip()
            except GitError:  # unrelated histories: count from the base head
                base_sha = base_head
        else:
            start = base_sha = base_head
        try:
            _add_worktree(mirror, branch, dest, start)
        except BranchInUse:
            # A session killed outright (SIGKILL, a crash) leaves its worktree, which keeps the
            # branch checked out: free it when no living session holds that worktree.
            if not _reclaim_abandoned(mirror, branch):
                raise
            _add_worktree(mirror, branch, dest, start)
        git_dir = _admin_dir(mirror, dest)
        alive = _hold_alive(git_dir)
    log.info("worktree %s on %s from %s", dest, branch, start[:12])
    worktree = Worktree(
        mirror=mirror,
        path=dest,
        git_dir=git_dir,
        branch=branch,
        base_sha=base_sha,
        remote_sha=remote_sha,
    )
    worktree.alive_fd = alive
    worktree.exclude_debris()
    return worktree


ALIVE_LOCK = "autocoder-alive"  # in a worktree's admin dir: flocked while its session lives


def _add_worktree(mirror: Path, branch: str, dest: Path, start: str) -> None:
    try:
        _mirror_git(
            mirror, "worktree", "add", "--quiet", "--no-track", "-B", branch, str(dest), start
        )
    except GitError as error:
        if "already checked out" in error.stderr or "already used by worktree" in error.stderr:
            raise BranchInUse(
                f"branch {branch!r} is checked out by another worktree of {mirror}; "
                "wait for that session to end, or remove its worktree"
            ) from error
        raise


def _hold_alive(git_dir: Path) -> int:
    """Lock the worktree's liveness file for as long as this process holds the worktree (the
    kernel drops the lock when the process dies, however it dies)."""
    fd = os.open(git_dir / ALIVE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _abandoned(admin: Path) -> bool:
    """Whether no living session holds the worktree of `admin` (its lock is free)."""
    try:
        fd = os.open(admin / ALIVE_LOCK, os.O_RDWR)
    except OSError:
        return False  # not made by a session that takes the lock: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _reclaim_abandoned(mirror: Path, branch: str) -> bool:
    """Delete the worktrees of `branch` whose sessions died (under the mirror lock); True when
    the branch is free now."""
    admins = (mirror / "worktrees").iterdir() if (mirror / "worktrees").is_dir() else iter(())
    reclaimed = False
    for admin in admins:
        try:
            head = (admin / "HEAD").read_text(encoding="utf-8").strip()
            dotgit = Path((admin / "gitdir").read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if head != f"ref: refs/heads/{branch}":
            continue
        if not _abandoned(admin):
            return False
        log.warning("removing the worktree %s left by a session that died", dotgit.parent)
        _delete_tree(dotgit.parent)
        reclaimed = True
    _mirror_git(mirror, "worktree", "prune")
    return reclaimed


def open_checkout(path: Path, *, base_sha: str | None = None) -> Worktree:
    """A plain clone at `path` (its `.git` a directory, as `actions/checkout` makes it) as a
    `Worktree` on its current branch; `base_sha` defaults to its HEAD. Call before any session
    command runs: the git dir is fixed here. `remove()` leaves the checkout in place."""
    path = path.resolve()
    git_dir = path / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        raise ValueError(f"{path} is not the top of a clone (no .git directory)")
    branch = run_git(["symbolic-ref", "--short", "HEAD"], path, git_dir=git_dir).strip()
    head = run_git(["rev-parse", "HEAD"], path, git_dir=git_dir).strip()
    worktree = Worktree(
        mirror=None,
        path=path,
        git_dir=git_dir,
        branch=branch,
        base_sha=base_sha or head,
        remote_sha=None,
    )
    worktree.exclude_debris()
    return worktree
