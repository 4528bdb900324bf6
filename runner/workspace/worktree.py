"""One session's working copy: a `git worktree` of the mirror, on the session's branch.

Every host git command here names the repository explicitly (`--git-dir` is the worktree's admin
dir in the mirror, found once when the worktree is made, before any session command has run;
`--work-tree` its directory) and runs under `run_git`'s protective configuration. Nested
repositories are never staged (`runner.workspace.nested`); the worktree's files are.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.workspace.debris import debris_patterns, write_excludes
from runner.workspace.errors import GitError, PushRejected
from runner.workspace.git import run_git
from runner.workspace.git_auth import GitAuth, reject_credentials_in_url
from runner.workspace.identity import Identity, commit_trailers
from runner.workspace.lock import mirror_lock
from runner.workspace.mirror import url_scheme
from runner.workspace.nested import exclusion_pathspecs, find_nested_repositories
from runner.workspace.sandbox_git import VIEW_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str


@dataclass(frozen=True)
class CommitResult:
    """What `Worktree.commit_all` did.

    `sha` is the new commit, None when nothing changed. `excluded_nested` are the directories
    (relative POSIX paths) left out because they hold a `.git` of their own: nested repositories,
    gitlinks, `.git` files or symlinks a session made; their contents are not in the commit.
    """

    sha: str | None
    excluded_nested: tuple[str, ...] = ()


def _mirror_git(mirror: Path, *args: str) -> str:
    return run_git(list(args), mirror, git_dir=mirror)


class Worktree:
    """A session's checkout. `base_sha` is where its own work starts; `git_dir` is the only git
    metadata host git reads for it."""

    def __init__(
        self,
        *,
        mirror: Path | None,
        path: Path,
        git_dir: Path,
        branch: str,
        base_sha: str,
        remote_sha: str | None,
    ) -> None:
        self.mirror = mirror
        self.path = path
        self.git_dir = git_dir
        self.branch = branch
        self.base_sha = base_sha
        # The remote branch as this session last knew it: the lease for a forced push.
        self._remote_sha = remote_sha
        # Build debris the host does not stage (runner.workspace.debris); set by exclude_debris.
        self.excludes_file: Path | None = None
        self.alive_fd: int | None = None  # the flock on prepare.ALIVE_LOCK, held until remove()

    def __repr__(self) -> str:
        return f"Worktree(path={str(self.path)!r}, branch={self.branch!r})"

    def _git(
        self,
        *args: str,
        auth: GitAuth | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        protocols: Sequence[str] = (),
    ) -> str:
        excludes = ["-c", f"core.excludesFile={self.excludes_file}"] if self.excludes_file else []
        return run_git(
            [*excludes, *args],
            self.path,
            git_dir=self.git_dir,
            work_tree=self.path,
            protocols=protocols,
            auth=auth,
            env=env,
            input=input,
        )

    def exclude_debris(self) -> None:
        """Leave build debris (`__pycache__/`, `*.pyc`, tool caches) out of what the host stages,
        except patterns matching a file the repository tracks. Call before any session command
        ran (the excludes file lives in the host's git dir)."""
        patterns = debris_patterns(lambda args: self._git("ls-files", *args))
        self.excludes_file = write_excludes(self.git_dir, patterns) if patterns else None

    def nested_repositories(self) -> list[str]:
        """Directories below the root holding a `.git` of their own (never staged)."""
        return find_nested_repositories(self.path)

    def _pathspecs(self) -> list[str]:
        return exclusion_pathspecs(self.nested_repositories())

    def head_sha(self) -> str:
        return self._git("rev-parse", "HEAD").strip()

    def has_changes(self) -> bool:
        """True when there is anything uncommitted (untracked files included, ignored not)."""
        return bool(
            self._git(
                "status", "--porcelain", "-z", "--ignore-submodules=all", "--", *self._pathspecs()
            )
        )

    def changed_files(self) -> list[str]:
        """Paths that differ from `base_sha`: committed, uncommitted and untracked, sorted.
        Nested repositories are not among them (they are never committed)."""
        specs = self._pathspecs()
        tracked = self._git(
            "diff", "--name-only", "--no-renames", "--no-ext-diff", "--no-textconv",
            "--ignore-submodules=all", "-z", self.base_sha, "--", *specs,
        )  # fmt: skip
        untracked = self._git("ls-files", "--others", "--exclude-standard", "-z", "--", *specs)
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
        engine_finished: bool = False,
    ) -> CommitResult:
        """Stage the worktree's files (honouring .gitignore) and commit them.

        Nested repositories are left out and named in the result. Author and committer are
        `author`; the message gets `Co-authored-by:` trailers for `co_authors`, an
        `Autocoder-Session:` trailer and, with `engine_finished`, `Autocoder-Engine: finished`.
        Build debris is not staged (`exclude_debris`). Hooks and signing are not run.
        """
        if not message.strip():
            raise ValueError("commit message is empty")
        nested = tuple(self.nested_repositories())
        self._git("add", "--all", "--", *exclusion_pathspecs(list(nested)))
        staged = self._git(
            "diff", "--cached", "--name-only", "--no-ext-diff", "--ignore-submodules=all", "-z"
        )
        if not staged:
            return CommitResult(None, nested)
        trailer_args: list[str] = ["interpret-trailers", "--if-exists", "addIfDifferent"]
        for key, value in commit_trailers(
            tuple(co_authors), session_id, engine_finished=engine_finished
        ):
            trailer_args += ["--trailer", f"{key}: {value}"]
        full_message = self._git(*trailer_args, input=message.strip() + "\n")
        self._git(
            "commit",
            "--quiet",
            "--no-verify",
            "--untracked-files=no",
            "--file=-",
            input=full_message,
            env=author.env(),
        )
        # The sandbox's scratch git dir still shows the old HEAD: the next command gets a new one.
        self.reset_sandbox_git()
        return CommitResult(self.head_sha(), nested)

    def reset_sandbox_git(self) -> None:
        """Drop the sandbox's scratch git dir (made again, from the host's HEAD and index, by
        the next sandboxed command). Symlinks in it are not followed."""
        shutil.rmtree(self.git_dir / VIEW_DIR, ignore_errors=True)

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
            self._git(*args, auth=auth, protocols=(url_scheme(clone_url),))
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

        The directory is deleted here (symlinks not followed), not by `git worktree remove`,
        which would run `git status` in it; then `git worktree prune` drops the registration
        (and with it the sandbox's scratch git dir). The local branch stays in the mirror (a
        way back to unpushed commits); the next session for the same issue resets it. For a
        plain clone (`open_checkout`) only the sandbox's scratch git dir is removed.
        """
        if self.mirror is None:
            self.reset_sandbox_git()
            return
        with mirror_lock(self.mirror):
            if self.path.exists() or self.path.is_symlink():
                _delete_tree(self.path)
            _mirror_git(self.mirror, "worktree", "prune")
            if self.alive_fd is not None:
                os.close(self.alive_fd)
                self.alive_fd = None


def _delete_tree(path: Path) -> None:
    """Delete `path` and everything below it, even directories a session made read-only."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    try:
        shutil.rmtree(path)
        return
    except OSError:
        pass
    for directory, _, _ in os.walk(path, followlinks=False):
        try:
            os.chmod(directory, 0o700)
        except OSError:
            continue
    shutil.rmtree(path)


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
