"""The git metadata a sandboxed command sees: a throwaway git dir, never the host's.

The host's git dir (a worktree's admin dir in the mirror, or a clone's `.git`) is read by every
host git command, so nothing a session runs may write it. Instead each worktree gets a scratch
git dir, made once by the host from its own HEAD, index and remote refs, inside the host's git
dir at `VIEW_DIR` (so it goes when the worktree does). Under bubblewrap:

- the worktree's `.git` is covered: a `.git` file by a read-only pointer to the scratch dir
  (mounted at `SANDBOX_GIT_DIR`), a `.git` directory by the scratch dir itself;
- the real object store is mounted read-only at `SANDBOX_OBJECTS`, and the scratch dir borrows
  its objects through `objects/info/alternates`;
- the scratch dir's `config` and `hooks/` are read-only (its own git, inside the sandbox, runs
  no program the session planted).

So `git status`, `diff`, `add`, `commit`, `log` work inside the sandbox, and whatever they (or
anything else) write there is never read by the host, which stages the worktree's files into
its own index. The host never writes into an existing scratch dir either: it is the session's.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from runner.workspace.errors import GitError
from runner.workspace.git import run_git

__all__ = [
    "SANDBOX_GIT_DIR",
    "SANDBOX_OBJECTS",
    "VIEW_DIR",
    "SandboxGitView",
    "host_git_dir",
    "prepare_sandbox_git",
]

VIEW_DIR = "autocoder-sandbox"
SANDBOX_GIT_DIR = "/tmp/.autocoder-git"  # noqa: S108 - a path inside the sandbox's own /tmp
SANDBOX_OBJECTS = "/tmp/.autocoder-objects"  # noqa: S108 - a path inside the sandbox's own /tmp


@dataclass(frozen=True)
class SandboxGitView:
    """What bubblewrap mounts so that commands see `scratch` as the worktree's git dir."""

    dotgit: Path  # the worktree's `.git` (covered inside the sandbox)
    scratch: Path  # the throwaway git dir (host path), writable inside the sandbox
    pointer: Path | None  # a `gitdir:` file for `dotgit` when that is a file, else None
    objects: Path  # the host's object store, read-only inside the sandbox
    common: Path  # the host's common git dir (its neighbours, other mirrors, are hidden)


def _read_pointer(path: Path) -> Path | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("gitdir:"):
        text = text[len("gitdir:") :].strip()
    return Path(text) if text else None


def host_git_dir(worktree: Path) -> tuple[Path, Path] | None:
    """(git dir, common dir) the host uses for `worktree` (resolved), or None when `worktree`
    is not the top of a clone or a `git worktree` whose admin dir points back at it."""
    worktree = worktree.resolve()
    dotgit = worktree / ".git"
    if dotgit.is_symlink():
        return None
    if dotgit.is_dir():
        gitdir = dotgit
    elif dotgit.is_file():
        pointed = _read_pointer(dotgit)
        if pointed is None or not pointed.is_absolute():
            return None
        gitdir = pointed.resolve()
        back = _read_pointer(gitdir / "gitdir")
        if gitdir.is_relative_to(worktree) or back is None or back.resolve() != dotgit:
            return None
    else:
        return None
    common = gitdir
    commondir = _read_pointer(gitdir / "commondir")
    if commondir is not None:
        common = (commondir if commondir.is_absolute() else gitdir / commondir).resolve()
    if not (common / "objects").is_dir() or not (gitdir / "HEAD").is_file():
        return None
    return gitdir, common


def prepare_sandbox_git(worktree: Path) -> SandboxGitView | None:
    """The scratch git dir for `worktree`, made on first use; None when there is no git here."""
    found = host_git_dir(worktree)
    if found is None:
        return None
    gitdir, common = found
    dotgit = worktree.resolve() / ".git"
    view = gitdir / VIEW_DIR
    if not view.is_dir():
        _create_view(view, gitdir, common, dotgit)
    pointer = view / "dotgit" if dotgit.is_file() else None
    return SandboxGitView(
        dotgit=dotgit, scratch=view / "git", pointer=pointer, objects=common / "objects",
        common=common,
    )  # fmt: skip


def _create_view(view: Path, gitdir: Path, common: Path, dotgit: Path) -> None:
    staging = view.with_name(f".{view.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        scratch = staging / "git"
        for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "hooks", "info"):
            (scratch / sub).mkdir(parents=True)
        _write_scratch(scratch, gitdir, common)
        (staging / "dotgit").write_text(f"gitdir: {SANDBOX_GIT_DIR}\n", encoding="utf-8")
        try:
            staging.rename(view)
        except OSError:  # made meanwhile by another command of the same session: use that one
            if not view.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _git(gitdir: Path, *args: str) -> str:
    return run_git(list(args), gitdir, git_dir=gitdir)


def _write_scratch(scratch: Path, gitdir: Path, common: Path) -> None:
    try:
        head_ref: str | None = _git(gitdir, "symbolic-ref", "-q", "HEAD").strip()
    except GitError:
        head_ref = None
    try:
        head_sha: str | None = _git(gitdir, "rev-parse", "--verify", "-q", "HEAD").strip()
    except GitError:  # an unborn branch
        head_sha = None
    object_format = _git(gitdir, "rev-parse", "--show-object-format").strip() or "sha1"

    if head_ref:
        (scratch / "HEAD").write_text(f"ref: {head_ref}\n", encoding="utf-8")
    else:
        (scratch / "HEAD").write_text(f"{head_sha}\n", encoding="utf-8")
    listed = _git(gitdir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes/")
    lines = [line for line in listed.splitlines() if line.strip()]
    if head_ref and head_sha:
        lines.append(f"{head_sha} {head_ref}")
    (scratch / "packed-refs").write_text(
        "".join(f"{line}\n" for line in sorted(set(lines), key=lambda x: x.split(" ", 1)[1])),
        encoding="utf-8",
    )
    index = gitdir / "index"
    if index.is_file():
        shutil.copyfile(index, scratch / "index")
    exclude = common / "info" / "exclude"
    if exclude.is_file():
        shutil.copyfile(exclude, scratch / "info" / "exclude")
    (scratch / "objects" / "info" / "alternates").write_text(
        f"{SANDBOX_OBJECTS}\n", encoding="utf-8"
    )
    version = "0" if object_format == "sha1" else "1"
    config = [
        "[core]",
        f"\trepositoryformatversion = {version}",
        "\tfilemode = true",
        "\tbare = false",
        "\tlogallrefupdates = true",
    ]
    if object_format != "sha1":
        config += ["[extensions]", f"\tobjectFormat = {object_format}"]
    (scratch / "config").write_text("\n".join(config) + "\n", encoding="utf-8")
    os.chmod(scratch / "config", 0o444)
