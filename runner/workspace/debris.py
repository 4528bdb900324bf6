"""Build debris the host does not commit unless the repository asks for it.

A model that runs Python, pytest or a linter in the sandbox leaves `__pycache__/`, `*.pyc` and
tool caches in the worktree; a repository without a `.gitignore` for them would get them
committed into the pull request. The host's commit leaves them out through an excludes file of
its own (`core.excludesFile`, below every `.gitignore` in precedence, so a repository's own
rules still win), kept in the host's git dir where no session command can write. A pattern that
matches a file the repository tracks is left out of that file: the repository asked for such
files. (Exclude rules never touch tracked files anyway; this also keeps new files of that kind.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

DEBRIS_PATTERNS: tuple[str, ...] = (
    "__pycache__/",
    "*.pyc",
    "*.pyo",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
)
EXCLUDES_FILE = "autocoder-exclude"

# Runs `git ls-files <args>` in the worktree; returns its stdout.
ListFiles = Callable[[Sequence[str]], str]


def _tracked_matches(list_files: ListFiles, patterns: Sequence[str]) -> bool:
    args = ["--cached", "--ignored", "-z", *(f"--exclude={pattern}" for pattern in patterns)]
    return bool(list_files(args).strip("\0"))


def debris_patterns(list_files: ListFiles, patterns: Sequence[str] = DEBRIS_PATTERNS) -> list[str]:
    """The patterns of `patterns` that match no file the repository tracks (git's own
    matching: `git ls-files --cached --ignored --exclude=<pattern>`)."""
    if not _tracked_matches(list_files, patterns):
        return list(patterns)  # the usual case: one git command
    return [pattern for pattern in patterns if not _tracked_matches(list_files, [pattern])]


def write_excludes(git_dir: Path, patterns: Sequence[str]) -> Path:
    """Write `patterns` to the host's excludes file in `git_dir`; returns its path."""
    path = git_dir / EXCLUDES_FILE
    header = "# build debris autocoder does not commit (runner.workspace.debris)\n"
    path.write_text(header + "".join(f"{pattern}\n" for pattern in patterns), encoding="utf-8")
    return path
