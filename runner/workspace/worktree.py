"""One session's working copy: a `git worktree` of the mirror, on the session's branch."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.workspace.errors import BranchInUse, GitError, PushRejected, RefNotFound
from runner.workspace.git import run_git
from runner.workspace.git_auth import GitAuth, reject_credentials_in_url
from runner.workspace.identity import Identity, commit_trailers
from runner.workspace.lock import mirror_lock
from runner.workspace.mirror import REMOTE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str


def _remote_ref(branch: str) -> str:
    return f"refs/remotes/{REMOTE}/{branch}"


def _resolve(mirror: Path, ref: str) -> str | None:
    """The commit `ref` points at in `mirror`, or None when there is no such ref."""
    try:
        return run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], mirror).strip()
    except GitError:
        return None


def prepare_worktree(
    mirror: Path,
    *,
    base_branch: str,
    branch: str,
    existing_branch: bool,
    dest: Path,
) -> Worktree:
    """Add a worktree of `mirror` at `dest` with `branch` checked out.

    New work (`existing_branch=False`) starts `branch` at the head of `base_branch`, replacing
    any local branch of that name left by an earlier session. With `existing_branch=True` (a
    pull request is already open) it starts from the remote branch as last fetched into the
    mirror, and `base_sha` is its merge base with `base_branch`. Call `MirrorCache.update`
    first. Raises `RefNotFound`, `BranchInUse`, or `GitError`.
    """
    for name in (base_branch, branch):
        try:
            run_git(["check-ref-format", "--branch", name], mirror)
        except GitError:
            raise ValueError(f"{name!r} is not a valid branch name") from None
    with mirror_lock(mirror):
        # Forget worktrees whose directories are gone (a session that died), freeing branches.
        run_git(["worktree", "prune"], mirror)
        base_head = _resolve(mirror, _remote_ref(base_branch))
        if base_head is None:
            raise RefNotFound(
                f"base branch {base_branch!r} is not in the mirror {mirror}: check its name, "
                "or update the mirror first"
            )
        remote_sha = _resolve(mirror, _remote_ref(branch))
        if existing_branch:
            if remote_sha is None:
                raise RefNotFound(
                    f"branch {branch!r} is not on the remote (as of the last mirror update); "
                    "start new work instead, or update the mirror first"
                )
            start = remote_sha
            try:
                base_sha = run_git(["merge-base", base_head, start], mirror).strip()
            except GitError:  # unrelated histories: count from the base head
                base_sha = base_head
        else:
            start = base_sha = base_head
        try:
            run_git(
                ["worktree", "add", "--quiet", "--no-track", "-B", branch, str(dest), start],
                mirror,
            )
        except GitError as error:
            if "already checked out" in error.stderr or "already used by worktree" in error.stderr:
                raise BranchInUse(
                    f"branch {branch!r} is checked out by another worktree of {mirror}; "
                    "wait for that session to end, or remove its worktree"
                ) from error
            raise
    log.info("worktree %s on %s from %s", dest, branch, start[:12])
    return Worktree(
        mirror=mirror, path=dest, branch=branch, base_sha=base_sha, remote_sha=remote_sha
    )


class Worktree:
    """A session's checkout. `base_sha` is where its own work starts."""

    def __init__(
        self, *, mirror: Path, path: Path, branch: str, base_sha: str, remote_sha: str | None
    ) -> None:
        self.mirror = mirror
        self.path = path
        self.branch = branch
        self.base_sha = base_sha
        # The remote branch as this session last knew it: the lease for a forced push.
        self._remote_sha = remote_sha

    def __repr__(self) -> str:
        return f"Worktree(path={str(self.path)!r}, branch={self.branch!r})"

    def _git(
        self,
        *args: str,
        auth: GitAuth | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
    ) -> str:
        return run_git(list(args), self.path, auth=auth, env=env, input=input)

    def head_sha(self) -> str:
        return self._git("rev-parse", "HEAD").strip()

    def has_changes(self) -> bool:
        """True when there is anything uncommitted (untracked files included, ignored not)."""
        return bool(self._git("status", "--porcelain", "-z"))

    def changed_files(self) -> list[str]:
        """Paths that differ from `base_sha`: committed, uncommitted and untracked, sorted."""
        tracked = self._git("diff", "--name-only", "--no-renames", "-z", self.base_sha, "--")
        untracked = self._git("ls-files", "--others", "--exclude-standard", "-z")
        return sorted({name for name in (tracked + untracked).split("\0") if name})

    def commits_since_base(self) -> list[CommitInfo]:
        """The commits on the branch after `base_sha`, oldest first."""
        out = self._git("log", "--reverse", "--format=%H%x1f%s%x1e", f"{self.base_sha}..HEAD")
        commits = []
        for record in out.split("\x1e"):
            sha, _, subject = record.strip("\n").partition("\x1f")
            if sha:
                commits.append(CommitInfo(sha=sha, subject=subject))
        return commits

    def commit_all(
        self,
        message: str,
        *,
        author: Identity,
        co_authors: Sequence[Identity],
        session_id: str,
    ) -> str | None:
        """Stage everything (honouring .gitignore) and commit; None when nothing changed.

        Author and committer are `author`; the message gets `Co-authored-by:` trailers for
        `co_authors` and an `Autocoder-Session:` trailer. Hooks and signing are not run.
        """
        if not message.strip():
            raise ValueError("commit message is empty")
        self._git("add", "--all")
        if not self._git("diff", "--cached", "--name-only", "-z"):
            return None
        trailer_args: list[str] = ["interpret-trailers", "--if-exists", "addIfDifferent"]
        for key, value in commit_trailers(tuple(co_authors), session_id):
            trailer_args += ["--trailer", f"{key}: {value}"]
        full_message = self._git(*trailer_args, input=message.strip() + "\n")
        self._git(
            "-c",
            "commit.gpgSign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "--file=-",
            input=full_message,
            env=author.env(),
        )
        return self.head_sha()

    def push(self, clone_url: str, auth: GitAuth, *, force: bool = False) -> str:
        """Push the branch head to `clone_url` (by URL, token in a header); return its sha.

        A forced push is a lease: it replaces the remote branch only if it is still where this
        session last saw it. Raises `PushRejected` (non-fast-forward, stale lease, remote hook),
        `GitAuthError`, or `GitError`.
        """
        reject_credentials_in_url(clone_url)
        sha = self.head_sha()
        target = f"refs/heads/{self.branch}"
        args = ["-c", "advice.pushUpdateRejected=false", "push", "--porcelain", "--no-verify"]
        if force:
            args.append(f"--force-with-lease={target}:{self._remote_sha or ''}")
        args += [clone_url, f"{sha}:{target}"]
        try:
            self._git(*args, auth=auth)
        except PushRejected:
            raise
        except GitError as error:
            reason = _rejection(error.stdout)
            if reason is None:
                raise
            raise PushRejected(
                error.command,
                error.returncode,
                error.stderr,
                error.stdout,
                reason=reason,
                hint=_rejection_hint(reason, self.branch),
            ) from error
        self._remote_sha = sha
        return sha

    def remove(self) -> None:
        """Remove the worktree directory and its registration; safe to call again.

        The local branch stays in the mirror (a way back to unpushed commits); the next
        session for the same issue resets it.
        """
        with mirror_lock(self.mirror):
            if self.path.exists():
                try:
                    run_git(["worktree", "remove", "--force", str(self.path)], self.mirror)
                except GitError as error:
                    if "is not a working tree" not in error.stderr:
                        raise
            run_git(["worktree", "prune"], self.mirror)


def _rejection(porcelain: str) -> str | None:
    """The reason of the first rejected ref in `git push --porcelain` output, if any."""
    for line in porcelain.splitlines():
        if line.startswith("!"):
            fields = line.split("\t")
            return fields[2] if len(fields) > 2 else "rejected"
    return None


def _rejection_hint(reason: str, branch: str) -> str:
    if "non-fast-forward" in reason or "fetch first" in reason:
        return (
            f"{reason}: the remote {branch!r} has commits this session does not have; update "
            "the mirror and continue the existing branch, or push with force=True"
        )
    if "stale info" in reason:
        return (
            f"{reason}: the remote {branch!r} moved since this session started; not overwriting it"
        )
    return f"{reason}: the remote refused to update {branch!r} (a protected branch or a hook?)"
