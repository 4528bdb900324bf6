"""What the issue's branch already holds, read from the mirror: for resuming an interrupted
session and for never building on (or pushing over) work autocoder did not write.

Two places can hold an earlier attempt's work: the remote branch (fetched into the mirror as
`refs/remotes/origin/<branch>`) and the mirror's own local branch of that name, which the
worktree of the last session on this machine moved as it committed (a session killed after its
commit and before its push leaves its work only there). Only the host writes either: commands
in the sandbox commit to a scratch git dir the host never reads (runner.workspace.sandbox_git).

A commit is autocoder's when its author and committer are autocoder's identity and it carries
an `Autocoder-Session:` trailer; `Autocoder-Engine: finished` on a head says the engine had
finished the work it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.workspace.errors import GitError
from runner.workspace.git import run_git
from runner.workspace.identity import (
    ENGINE_FINISHED,
    ENGINE_TRAILER,
    SESSION_TRAILER,
    Identity,
    same_email,
)
from runner.workspace.mirror import REMOTE

_FIELD, _RECORD, _VALUES = "\x1f", "\x1e", "\x1d"


@dataclass(frozen=True)
class BranchCommit:
    sha: str
    subject: str
    author_email: str
    committer_email: str
    sessions: tuple[str, ...]  # `Autocoder-Session:` trailer values
    engine: tuple[str, ...]  # `Autocoder-Engine:` trailer values

    def written_by(self, identity: Identity) -> bool:
        """Made by an autocoder session: its identity as author and committer, and a trailer."""
        return (
            bool(self.sessions)
            and same_email(identity, self.author_email)
            and same_email(identity, self.committer_email)
        )

    @property
    def engine_finished(self) -> bool:
        return ENGINE_FINISHED in self.engine

    @property
    def session(self) -> str | None:
        return self.sessions[-1] if self.sessions else None

    def describe(self) -> str:
        return f"{self.sha[:7]} {self.subject} ({self.author_email})"


@dataclass(frozen=True)
class Tip:
    """A branch head and the commits that lead to it from where its work starts, oldest first
    (from the base branch for the remote branch; from the remote branch, or the base branch when
    there is none, for the mirror's local branch)."""

    sha: str
    commits: tuple[BranchCommit, ...]

    @property
    def head(self) -> BranchCommit | None:
        return self.commits[-1] if self.commits else None

    def foreign(self, identity: Identity) -> tuple[BranchCommit, ...]:
        return tuple(c for c in self.commits if not c.written_by(identity))


@dataclass(frozen=True)
class BranchHistory:
    base_head: str
    remote: Tip | None  # the branch on the remote, as last fetched
    local: Tip | None  # the mirror's own branch, only when it is ahead of the remote branch


def _git(mirror: Path, *args: str) -> str:
    return run_git(list(args), mirror, git_dir=mirror)


def _resolve(mirror: Path, ref: str) -> str | None:
    try:
        return _git(mirror, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError:
        return None


def _is_ancestor(mirror: Path, older: str, newer: str) -> bool:
    try:
        _git(mirror, "merge-base", "--is-ancestor", older, newer)
    except GitError:
        return False
    return True


def _values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(_VALUES) if v.strip())


def commits_between(mirror: Path, since: str, head: str) -> tuple[BranchCommit, ...]:
    """The commits in `since..head` (merges included), oldest first."""
    trailer = "%(trailers:key={},valueonly,separator=%x1d)"
    fmt = "%x1f".join(
        ["%H", "%s", "%ae", "%ce", trailer.format(SESSION_TRAILER), trailer.format(ENGINE_TRAILER)]
    )
    out = _git(mirror, "log", "--reverse", f"--format={fmt}%x1e", f"{since}..{head}", "--")
    commits = []
    for record in out.split(_RECORD):
        fields = record.strip("\n").split(_FIELD)
        if len(fields) != 6 or not fields[0]:
            continue
        sha, subject, author, committer, sessions, engine = fields
        commits.append(
            BranchCommit(sha, subject, author, committer, _values(sessions), _values(engine))
        )
    return tuple(commits)


def read_branch_history(mirror: Path, *, base_branch: str, branch: str) -> BranchHistory:
    """What `branch` holds on the remote and in the mirror. Call `MirrorCache.update` first."""
    base_head = _resolve(mirror, f"refs/remotes/{REMOTE}/{base_branch}")
    if base_head is None:
        raise GitError(["git", "rev-parse", base_branch], None, "base branch not in the mirror")
    remote_sha = _resolve(mirror, f"refs/remotes/{REMOTE}/{branch}")
    remote = None
    if remote_sha is not None:
        remote = Tip(remote_sha, commits_between(mirror, base_head, remote_sha))
    local_sha = _resolve(mirror, f"refs/heads/{branch}")
    local = None
    if local_sha is not None and local_sha != remote_sha:
        if remote_sha is None:
            local = Tip(local_sha, commits_between(mirror, base_head, local_sha))
        elif _is_ancestor(mirror, remote_sha, local_sha):
            local = Tip(local_sha, commits_between(mirror, remote_sha, local_sha))
    return BranchHistory(base_head=base_head, remote=remote, local=local)
