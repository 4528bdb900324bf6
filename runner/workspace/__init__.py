"""The git side of a session: a cached mirror per repository, a worktree per session.

`MirrorCache.update` → `prepare_worktree` → `Worktree.commit_all` → `Worktree.push` →
`Worktree.remove`. Tokens reach git only through `GitAuth` (an HTTP header in one command's
environment); every git failure is a typed `GitError`.
"""

from runner.workspace.errors import (
    BranchInUse,
    CredentialsInUrl,
    GitAuthError,
    GitError,
    PushRejected,
    RefNotFound,
    UnsupportedUrl,
    WorkspaceError,
)
from runner.workspace.git import run_git
from runner.workspace.git_auth import GitAuth
from runner.workspace.identity import Identity
from runner.workspace.mirror import MirrorCache, default_cache_dir
from runner.workspace.naming import branch_name
from runner.workspace.worktree import CommitInfo, Worktree, prepare_worktree

__all__ = [
    "BranchInUse",
    "CommitInfo",
    "CredentialsInUrl",
    "GitAuth",
    "GitAuthError",
    "GitError",
    "Identity",
    "MirrorCache",
    "PushRejected",
    "RefNotFound",
    "UnsupportedUrl",
    "WorkspaceError",
    "Worktree",
    "branch_name",
    "default_cache_dir",
    "prepare_worktree",
    "run_git",
]
