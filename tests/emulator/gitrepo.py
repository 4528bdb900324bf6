"""Reading and writing the real bare repositories that back the emulator's repositories."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class GitError(Exception):
    """A git command failed; carries its stderr."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author_name: str
    author_email: str
    author_date: datetime
    committer_name: str
    committer_email: str
    committer_date: datetime
    message: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
    env.setdefault("GIT_AUTHOR_NAME", "GitHub")
    env.setdefault("GIT_AUTHOR_EMAIL", "noreply@github.com")
    env.setdefault("GIT_COMMITTER_NAME", "GitHub")
    env.setdefault("GIT_COMMITTER_EMAIL", "noreply@github.com")
    return env


def git(path: Path, *args: str, input: bytes | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "--git-dir", str(path), *args],
        input=input,
        capture_output=True,
        env=_env(),
        check=False,
    )
    if check and result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip())
    return result.stdout.decode(errors="replace")


def init_bare(path: Path, default_branch: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "-b", default_branch, str(path)],
        check=True,
        capture_output=True,
        env=_env(),
    )
    git(path, "config", "http.receivepack", "true")
    git(path, "config", "receive.denyDeleteCurrent", "refuse")


def commit_files(
    path: Path,
    branch: str,
    files: dict[str, str | bytes],
    message: str,
    when: datetime,
    author: tuple[str, str] = ("GitHub", "noreply@github.com"),
) -> str:
    """Commit `files` (path -> content) on top of `branch` with one `git fast-import` run."""
    stamp = f"{int(when.timestamp())} +0000"
    parent = resolve(path, f"refs/heads/{branch}")
    lines: list[bytes] = [
        f"commit refs/heads/{branch}\n".encode(),
        f"author {author[0]} <{author[1]}> {stamp}\n".encode(),
        f"committer {author[0]} <{author[1]}> {stamp}\n".encode(),
    ]
    msg = message.encode()
    lines.append(f"data {len(msg)}\n".encode() + msg + b"\n")
    if parent:
        lines.append(f"from {parent}\n".encode())
    for name, content in sorted(files.items()):
        data = content.encode() if isinstance(content, str) else content
        lines.append(f"M 100644 inline {name}\n".encode())
        lines.append(f"data {len(data)}\n".encode() + data + b"\n")
    git(path, "fast-import", "--quiet", input=b"".join(lines))
    sha = resolve(path, f"refs/heads/{branch}")
    assert sha is not None
    return sha


def refs(path: Path, prefix: str = "refs/") -> dict[str, str]:
    """Every ref under `prefix` -> the sha it points at."""
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    result: dict[str, str] = {}
    for line in out.splitlines():
        name, _, sha = line.partition(" ")
        result[name] = sha
    return result


def branches(path: Path) -> dict[str, str]:
    return {
        name.removeprefix("refs/heads/"): sha for name, sha in refs(path, "refs/heads/").items()
    }


def resolve(path: Path, rev: str) -> str | None:
    """The commit sha `rev` names, or None."""
    result = subprocess.run(
        ["git", "--git-dir", str(path), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        env=_env(),
        check=False,
    )
    if result.returncode != 0:
        return None
    return result.stdout.decode().strip() or None


def resolve_ref_or_sha(path: Path, ref: str) -> str | None:
    """Resolve a branch, tag, full ref or (abbreviated) sha the way GitHub's `{ref}` does."""
    for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        sha = resolve(path, candidate)
        if sha:
            return sha
    return None


def object_type(path: Path, sha: str) -> str | None:
    result = subprocess.run(
        ["git", "--git-dir", str(path), "cat-file", "-t", sha],
        capture_output=True,
        env=_env(),
        check=False,
    )
    return result.stdout.decode().strip() if result.returncode == 0 else None


def update_ref(path: Path, ref: str, sha: str, old: str | None = None) -> None:
    args = ["update-ref", ref, sha]
    if old is not None:
        args.append(old)
    git(path, *args)


def delete_ref(path: Path, ref: str) -> None:
    git(path, "update-ref", "-d", ref)


def is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    result = subprocess.run(
        ["git", "--git-dir", str(path), "merge-base", "--is-ancestor", ancestor, descendant],
        capture_output=True,
        env=_env(),
        check=False,
    )
    return result.returncode == 0


def commit_info(path: Path, sha: str) -> CommitInfo:
    fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B"
    out = git(path, "show", "-s", f"--format={fmt}", sha)
    parts = out.split("\x00")
    return CommitInfo(
        sha=parts[0],
        tree=parts[1],
        parents=parts[2].split(),
        author_name=parts[3],
        author_email=parts[4],
        author_date=datetime.fromtimestamp(int(parts[5]), UTC),
        committer_name=parts[6],
        committer_email=parts[7],
        committer_date=datetime.fromtimestamp(int(parts[8]), UTC),
        message=parts[9].rstrip("\n"),
    )


def commits_between(path: Path, base: str, head: str) -> list[str]:
    """Shas reachable from head but not base, oldest first (`git rev-list base..head`)."""
    out = git(path, "rev-list", "--reverse", f"{base}..{head}")
    return out.split()


def changed_files(path: Path, old: str, new: str) -> dict[str, str]:
    """path -> status letter (A, M, D) between two commits."""
    out = git(path, "diff", "--name-status", "--no-renames", old, new)
    result: dict[str, str] = {}
    for line in out.splitlines():
        status, _, name = line.partition("\t")
        result[name] = status[:1]
    return result


def diff_stats(path: Path, base: str, head: str) -> tuple[int, int, int]:
    """(additions, deletions, changed files) of head against its merge base with base."""
    out = git(path, "diff", "--numstat", f"{base}...{head}")
    additions = deletions = files = 0
    for line in out.splitlines():
        added, deleted, _ = line.split("\t", 2)
        files += 1
        additions += int(added) if added.isdigit() else 0
        deletions += int(deleted) if deleted.isdigit() else 0
    return additions, deletions, files


def diff_hunk(path: Path, base: str, head: str, file: str, line: int | None) -> str:
    """The hunk of `file`'s diff (base...head) up to `line`, as GitHub puts in review comments."""
    out = git(path, "diff", f"{base}...{head}", "--", file, check=False)
    hunk: list[str] = []
    in_hunk = False
    new_line = 0
    for text in out.splitlines():
        if text.startswith("@@"):
            if line is not None and in_hunk and new_line > line:
                break
            hunk = [text]
            in_hunk = True
            try:
                new_line = int(text.split("+")[1].split(",")[0].split(" ")[0]) - 1
            except (IndexError, ValueError):
                new_line = 0
            continue
        if not in_hunk:
            continue
        hunk.append(text)
        if not text.startswith("-"):
            new_line += 1
        if line is not None and new_line >= line:
            break
    return "\n".join(hunk) if hunk else "@@ -0,0 +1 @@"


def diff_position(path: Path, base: str, head: str, file: str, line: int | None, side: str) -> int:
    """The comment's `position`: its line's index in the file's diff, counted from 1 below the
    first `@@` header (later headers count too); 1 when the line is not in the diff."""
    out = git(path, "diff", f"{base}...{head}", "--", file, check=False)
    position = 0
    old_line = new_line = 0
    started = False
    for text in out.splitlines():
        if text.startswith("@@"):
            if started:
                position += 1
            started = True
            try:
                old_part, new_part = text.split(" ")[1:3]
                old_line = int(old_part[1:].split(",")[0]) - 1
                new_line = int(new_part[1:].split(",")[0]) - 1
            except (IndexError, ValueError):
                old_line = new_line = 0
            continue
        if not started:
            continue
        position += 1
        if text.startswith("-"):
            old_line += 1
            if side == "LEFT" and old_line == line:
                return position
        elif text.startswith("+"):
            new_line += 1
            if side != "LEFT" and new_line == line:
                return position
        else:
            old_line += 1
            new_line += 1
            if line in (old_line if side == "LEFT" else new_line,):
                return position
    return 1


def merge_tree(path: Path, base: str, head: str) -> str | None:
    """The tree of merging `head` into `base` (`git merge-tree --write-tree`), None on conflicts."""
    result = subprocess.run(
        ["git", "--git-dir", str(path), "merge-tree", "--write-tree", base, head],
        capture_output=True,
        env=_env(),
        check=False,
    )
    if result.returncode == 1:
        return None
    if result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip())
    return result.stdout.decode().split("\n", 1)[0].strip()


def commit_tree(
    path: Path,
    tree: str,
    parents: list[str],
    message: str,
    when: datetime,
    author: tuple[str, str],
    committer: tuple[str, str] = ("GitHub", "noreply@github.com"),
) -> str:
    """A commit object of `tree` with `parents` (no ref moves); its sha."""
    stamp = f"{int(when.timestamp())} +0000"
    env = {
        **_env(),
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_COMMITTER_DATE": stamp,
    }
    args = ["git", "--git-dir", str(path), "commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    result = subprocess.run(
        [*args, "-F", "-"], input=message.encode(), capture_output=True, env=env, check=False
    )
    if result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip())
    return result.stdout.decode().strip()
