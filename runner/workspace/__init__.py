"""The git side of a session: a cached mirror per repository, a worktree per session.

`MirrorCache.update` → `prepare_worktree` → `Worktree.commit_all` → `Worktree.push` →
`Worktree.remove`. Tokens reach git only through `GitAuth` (an HTTP header in one command's
environment); every git failure is a typed `GitError`.

The git boundary: host git distrusts the worktree
--------------------------------------------------
Everything in a worktree is written by a model we do not trust, and that includes anything
shaped like git metadata: a nested repository whose config sets `core.fsmonitor`, a `.git` file
pointing elsewhere, a `commondir`, `gitdir` or `objects/info/alternates` pointer, a hook. Git
follows such things and runs programs they name, so the host must never read them. That is made
true by construction, in three layers, rather than by a list of known tricks:

1. The sandbox never gets write access to any git metadata the host uses
   (`runner.workspace.sandbox_git`). Commands see a throwaway scratch git dir in place of the
   worktree's `.git` (HEAD, index and remote refs copied by the host, objects borrowed read-only
   through `alternates`), so the model's own `git add`/`commit`/`log`/`diff` work, but nothing it
   writes there is ever read by the host. The host's git dir (the worktree's admin dir in the
   mirror, or a clone's `.git`) is not even visible. We chose this over "no git inside the
   sandbox" because models use git constantly, and over "protect the known files read-only"
   (what was there before) because that list was incomplete: `commondir` was missing, and the
   next pointer git learns to follow would be missing too.
2. Host git never discovers a repository from the worktree: each command names `--git-dir` (found
   once, before any session command ran) and `--work-tree`, runs with an environment built from
   nothing (PATH, C locale, an empty private HOME, no system or global config, no prompts; the
   token only in the one command that talks to the remote, as a header), and with `-c` settings
   that switch off every way to start a program from repository content (`core.fsmonitor`,
   hooks, `core.sshCommand`, submodule recursion, every protocol but the one remote URL's). The
   config git does read is the host's own, so `.gitattributes` cannot name a filter, textconv
   or diff driver that exists.
3. The host stages the worktree's files, never a nested repository: any directory below the root
   that holds a `.git` entry (directory, file, symlink, any case) is left out of `add`, `status`
   and `diff` by pathspec, and `CommitResult.excluded_nested` names them for the report.
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
from runner.workspace.prepare import open_checkout, prepare_worktree
from runner.workspace.worktree import CommitInfo, CommitResult, Worktree

__all__ = [
    "BranchInUse",
    "CommitInfo",
    "CommitResult",
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
    "open_checkout",
    "prepare_worktree",
    "run_git",
]
