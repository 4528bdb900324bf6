"""Where commands and file tools may read and write: inside the worktree, and a few devices.

A path is judged after resolving symlinks and `..` (what the kernel will open), relative to the
directory the command runs in. Writing into the worktree's `.git` is refused: git metadata is
changed with git commands, and a planted hook or config would run outside any sandbox later.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path

from runner.policy.verdict import Verdict

__all__ = ["check_path", "judge_path"]

# Harmless device files a command may read (and a subset it may write). They are matched on the
# path as written, before resolving, because /dev/stdout resolves to /proc/self/fd/1 and on to
# whatever file descriptor 1 happens to be.
_READABLE_DEVICES = frozenset(
    {
        "/dev/null",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
    }
)
_WRITABLE_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_GLOB_CHARS = frozenset("*?[")


def _is_fd_path(normalized: str) -> bool:
    prefix = "/dev/fd/"
    return normalized.startswith(prefix) and normalized[len(prefix) :].isdigit()


def judge_path(path: str | Path, worktree: Path, *, for_write: bool) -> Verdict:
    """Whether a file tool may read (or write) `path`; a relative path is taken from the worktree.

    Confined to the worktree after resolving symlinks and `..`; writes into `.git` are refused.
    """
    reason = check_path(str(path), [worktree.resolve()], worktree.resolve(), for_write=for_write)
    return Verdict.refuse(reason) if reason else Verdict.allow()


def check_path(value: str, cwds: Iterable[Path], root: Path, *, for_write: bool) -> str | None:
    """Why `value`, used from each of `cwds`, is not allowed; None when it is fine.

    `root` is the resolved worktree. Glob characters are taken as a pattern: when writing, a
    pattern that could match `..` or the worktree's `.git` is refused too.
    """
    if not value:
        return None
    if value.startswith("~"):
        return (
            f"`{value}` is in the home directory, outside the worktree ({root}); "
            "use paths inside the worktree"
        )
    if value.startswith("/"):
        normalized = os.path.normpath(value)
        devices = _WRITABLE_DEVICES if for_write else _READABLE_DEVICES
        if normalized in devices or _is_fd_path(normalized):
            return None
    for cwd in cwds:
        reason = _check_from(value, cwd, root, for_write=for_write)
        if reason:
            return reason
    return None


def _check_from(value: str, cwd: Path, root: Path, *, for_write: bool) -> str | None:
    path = Path(value) if value.startswith("/") else cwd / value
    if for_write and any(ch in value for ch in _GLOB_CHARS):
        reason = _check_write_pattern(path, root)
        if reason:
            return reason
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return (
            f"`{value}` is outside the worktree ({root}); "
            "commands may only use paths inside the worktree"
        )
    if for_write:
        relative = resolved.relative_to(root)
        if relative.parts and relative.parts[0] == ".git":
            return (
                f"writing to `{value}` is not allowed: `.git` holds git's metadata; change it "
                "with git commands (git add, git commit, ...)"
            )
    return None


def _glob_can_match(pattern: str, name: str) -> bool:
    """Whether a bash glob component can match `name` (a leading dot must be matched literally)."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _check_write_pattern(path: Path, root: Path) -> str | None:
    """Refuse write patterns that reach the parent (`.*` matches `..` in some shells) or `.git`."""
    current = Path(path.anchor)
    for part in path.parts[1:]:
        if any(ch in part for ch in _GLOB_CHARS):
            if _glob_can_match(part, ".."):
                return (
                    f"the pattern `{part}` also matches `..` (the parent directory); "
                    "name the files explicitly"
                )
            if current.resolve() == root and _glob_can_match(part, ".git"):
                return (
                    f"the pattern `{part}` also matches `.git`; "
                    "name the files explicitly and leave `.git` alone"
                )
        current = current / part
    return None
