"""Nested repositories: directories below a worktree's root that hold a `.git` of their own.

A session may create them (`git init sub`, a `.git` file with a `gitdir:` pointer, a symlink
named `.git`). Staging one would record a gitlink, and git would read, and could act on, the
nested repository's own configuration. The host stages the worktree's files but never a nested
repository: `exclusion_pathspecs` leaves each one out of every host git command that looks at
the worktree, and the commit result names them so the session can say so.
"""

from __future__ import annotations

import os
from pathlib import Path

DOTGIT = ".git"


def _is_dotgit(name: str) -> bool:
    # Any case: `.GIT` is git's own metadata to a case-insensitive checkout, and refused by git.
    return name.casefold() == DOTGIT


def find_nested_repositories(root: Path) -> list[str]:
    """Directories below `root` (relative POSIX paths, sorted) holding a `.git` entry of any
    kind: directory, file or symlink. Symlinks are not followed; `root`'s own `.git` is not
    nested; nothing below a nested repository is looked at."""
    found: list[str] = []
    pending = [(root, "")]
    while pending:
        directory, relative = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:  # unreadable: git cannot stage it either
            continue
        if relative and any(_is_dotgit(entry.name) for entry in entries):
            found.append(relative)
            continue
        for entry in entries:
            if relative == "" and _is_dotgit(entry.name):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                pending.append((Path(entry.path), f"{relative}/{entry.name}".lstrip("/")))
    return sorted(found)


def exclusion_pathspecs(nested: list[str]) -> list[str]:
    """Pathspecs for the whole worktree except `nested` (each taken literally, not as a glob)."""
    return [".", *(f":(exclude,literal){path}" for path in nested)]


def describe_excluded(nested: tuple[str, ...] | list[str], *, limit: int = 10) -> str:
    """One sentence for the session's report naming the nested repositories left out."""
    shown = ", ".join(f"`{path}`" for path in nested[:limit])
    more = f" and {len(nested) - limit} more" if len(nested) > limit else ""
    return (
        f"Not committed: {shown}{more} — a directory holding its own `.git` (a nested "
        "repository or git pointer) is never staged; commit plain files instead."
    )
