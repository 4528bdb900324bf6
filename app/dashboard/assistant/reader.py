"""Read-only views of a repository's default branch in its bare mirror: the assistant's
read_file, list_directory and search. Git reads objects only (`show`, `ls-tree`, `grep` on a
ref); no worktree is made, nothing runs from repository content and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runner.tools.text import looks_binary, number_lines
from runner.workspace.errors import GitError
from runner.workspace.git import run_git

MAX_LINES = 400
MAX_MATCHES = 100


class ReadError(ValueError):
    """A path or pattern the reader refuses, or one that names nothing; the model reads it."""


def clean_path(path: str) -> str:
    """`path` relative to the repository's root, or ReadError ('..', absolute, options)."""
    text = path.strip().strip("/") or "."
    pure = PurePosixPath(text)
    if text.startswith("-") or ".." in pure.parts or "\x00" in text:
        raise ReadError(f"{path!r} is not a path inside the repository")
    return "." if text == "." else str(pure)


@dataclass(frozen=True)
class RepoReader:
    mirror: Path  # the bare mirror (runner.workspace.MirrorCache)
    ref: str  # e.g. refs/remotes/origin/main

    def _git(self, *args: str) -> str:
        return run_git(list(args), self.mirror, git_dir=self.mirror, timeout=30)

    def read_file(self, path: str, start_line: int = 1) -> str:
        name = clean_path(path)
        try:
            data = self._git("cat-file", "blob", f"{self.ref}:{name}")
        except GitError as error:
            raise ReadError(f"no file {name!r} on the default branch") from error
        if looks_binary(data.encode(errors="replace")[:8000]):
            raise ReadError(f"{name!r} is a binary file")
        lines = data.splitlines()
        first = max(start_line, 1)
        shown = lines[first - 1 : first - 1 + MAX_LINES]
        more = len(lines) - (first - 1 + len(shown))
        tail = f"\n… {more} more lines (read again with start_line)" if more > 0 else ""
        return number_lines(shown, first) + tail

    def list_directory(self, path: str = ".") -> str:
        name = clean_path(path)
        spec = self.ref if name == "." else f"{self.ref}:{name}"
        try:
            listing = self._git("ls-tree", spec)
        except GitError as error:
            raise ReadError(f"no directory {name!r} on the default branch") from error
        entries = []
        for line in listing.splitlines():
            meta, _, entry = line.partition("\t")
            entries.append(entry + ("/" if meta.split()[1] == "tree" else ""))
        return "\n".join(entries) or "(empty)"

    def search(self, pattern: str, path: str = ".") -> str:
        if not pattern or len(pattern) > 200:
            raise ReadError("give a pattern of 1 to 200 characters")
        name = clean_path(path)
        try:
            found = self._git("grep", "-n", "-I", "-F", "-e", pattern, self.ref, "--", name)
        except GitError:
            return "no match"  # git grep exits 1 when nothing matches
        prefix = f"{self.ref}:"
        lines = [line.removeprefix(prefix) for line in found.splitlines()]
        more = f"\n… {len(lines) - MAX_MATCHES} more matches" if len(lines) > MAX_MATCHES else ""
        return "\n".join(lines[:MAX_MATCHES]) + more
