"""The branch a feature session starts from (issue #13). A stacked sequence asks for the branch
of the feature before; when that branch is gone from the remote (its pull request was merged and
the branch deleted), the feature starts from the default branch, which now holds that work,
instead of failing. Reads the mirror only: call `MirrorCache.update` (which prunes deleted
branches) first."""

from __future__ import annotations

import logging
from pathlib import Path

from runner.workspace.errors import GitError
from runner.workspace.git import run_git
from runner.workspace.mirror import REMOTE

log = logging.getLogger(__name__)


def start_branch(mirror: Path, wanted: str | None, default: str) -> str:
    """`wanted` if the remote still has it, else `default`."""
    if not wanted or wanted == default:
        return default
    ref = f"refs/remotes/{REMOTE}/{wanted}^{{commit}}"
    try:
        run_git(["rev-parse", "--verify", "--quiet", ref], mirror, git_dir=mirror, timeout=30)
    except GitError:
        log.info("base branch %s is gone (merged?); starting from %s", wanted, default)
        return default
    return wanted
