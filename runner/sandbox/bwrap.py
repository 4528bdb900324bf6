"""The bubblewrap command line that confines one shell command.

What the command sees:

- the whole system read-only (`--ro-bind / /`), with fresh /dev and /proc, and its own PID, IPC
  and UTS namespaces (other processes, including the runner and its environment, are invisible);
- no network (a new network namespace with only loopback) unless the repository asks for it;
- a private, empty /tmp (HOME is /tmp/home) and an empty /run (no daemon sockets);
- the worktree, writable;
- the worktree's git metadata, writable so `git add`/`git commit` work, except the parts that
  make git run programs later on the host: `config`, `config.worktree`, `hooks/`, and the
  worktree's `.git` pointer, which are read-only; `refs/remotes` is read-only too, so a session
  cannot move the mirror's view of the remote. (A bare mirror cache may be shared by sessions
  for the same repository: a session can still add objects and its own branches there.)
- well-known credential stores in home directories (~/.ssh, ~/.git-credentials, ~/.config/gh,
  ~/.npmrc, ~/.aws, ~/.claude, ...) hidden, and other worktrees and mirrors next to this one
  hidden (sessions for other repositories must not read each other's code);
- no capabilities, even when the runner is root (`--cap-drop ALL`: no remounting read-only
  mounts writable).

The environment is not set here: the caller starts bwrap with an already cleaned environment,
which bwrap passes on unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.sandbox.environment import SANDBOX_HOME, SANDBOX_TMP

__all__ = ["GitLayout", "bwrap_argv", "find_git_layout", "home_secrets"]

# Places in a home directory where credentials live. Hidden inside the sandbox.
_HOME_SECRETS = (
    ".ssh",
    ".gnupg",
    ".netrc",
    ".git-credentials",
    ".gitconfig",
    ".config/git",
    ".config/gh",
    ".config/hub",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pypirc",
    ".pip",
    ".config/pip",
    ".docker",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".kube",
    ".claude",
    ".claude.json",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".auto-coder.yaml",
    ".autocoder",
    ".config/autocoder",
    ".local/share/keyrings",
    ".password-store",
    ".vault-token",
    ".terraform.d",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
)


@dataclass(frozen=True)
class GitLayout:
    """Where a worktree's git metadata is."""

    dotgit: Path | None  # the worktree's `.git` (a directory, or a file pointing elsewhere)
    gitdir: Path | None  # the worktree's own git directory (HEAD, index)
    common: Path | None  # the shared git directory (objects, refs, config, hooks)


def find_git_layout(worktree: Path) -> GitLayout:
    """Read where `worktree`'s git metadata lives (a plain clone, or a `git worktree`)."""
    dotgit = worktree / ".git"
    if dotgit.is_dir():
        resolved = dotgit.resolve()
        return GitLayout(dotgit, resolved, resolved)
    if not dotgit.is_file():
        return GitLayout(None, None, None)
    text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return GitLayout(dotgit, None, None)
    gitdir = Path(text[len("gitdir:") :].strip())
    gitdir = (gitdir if gitdir.is_absolute() else worktree / gitdir).resolve()
    common = gitdir
    commondir = gitdir / "commondir"
    if commondir.is_file():
        pointer = Path(commondir.read_text(encoding="utf-8", errors="replace").strip())
        common = (pointer if pointer.is_absolute() else gitdir / pointer).resolve()
    return GitLayout(dotgit, gitdir, common)


def home_secrets(homes: Iterable[Path]) -> list[Path]:
    """The credential stores that exist in these home directories (resolved)."""
    found: list[Path] = []
    for home in homes:
        for name in _HOME_SECRETS:
            path = home / name
            if path.exists() or path.is_symlink():
                found.append(path.resolve() if path.is_symlink() else path)
    return found


def _depth(path: Path) -> int:
    return len(path.parts)


def _maskable_parent(path: Path, keep: Sequence[Path]) -> Path | None:
    """The directory holding `path`, if it may be hidden: two levels deep or more (never /, /tmp,
    /home...), and holding none of the directories commands need (`keep`, such as PATH)."""
    parent = path.parent
    if _depth(parent) < 3:
        return None
    if any(k == parent or k.is_relative_to(parent) for k in keep):
        return None
    return parent


def bwrap_argv(
    command: Sequence[str],
    *,
    bwrap: str,
    worktree: Path,
    network: bool,
    git: GitLayout,
    hidden: Sequence[Path] = (),
    keep_visible: Sequence[Path] = (),
) -> list[str]:
    """The bwrap argv that runs `command` (an argv) confined to `worktree`.

    `worktree` and the paths in `git` must be resolved. `hidden` are files or directories to
    hide (credential stores); `keep_visible` are directories that must stay visible (PATH
    entries), so a directory holding one of them is never hidden as a whole.
    """
    argv = [bwrap, "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not network:
        argv.append("--unshare-net")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]

    # Hide: a private /tmp and /run, credential stores, and other worktrees and mirrors.
    masks: set[Path] = {Path(SANDBOX_TMP)}
    if Path("/run").is_dir():
        masks.add(Path("/run"))
    for place in (worktree, git.common):
        if place is not None:
            parent = _maskable_parent(place, keep_visible)
            if parent is not None and not parent.is_relative_to(worktree):
                masks.add(parent)
    for path in sorted(masks, key=_depth):
        argv += ["--tmpfs", str(path)]
    # What commands need (PATH entries, the interpreter's environment) stays visible, read-only,
    # even where it lies under a masked place such as /tmp (a checkout or virtualenv there).
    for path in sorted({p for p in keep_visible if p.is_dir()}, key=_depth):
        if any(path.is_relative_to(mask) for mask in masks):
            argv += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        if path.is_dir():
            argv += ["--tmpfs", str(path)]
        elif path.exists():
            argv += ["--ro-bind", "/dev/null", str(path)]
    argv += ["--dir", SANDBOX_HOME]
    if network:
        resolv = Path("/etc/resolv.conf").resolve()
        if resolv.is_relative_to("/run") and resolv.exists():
            argv += ["--ro-bind", str(resolv), str(resolv)]

    # Writable: the worktree and its git metadata; then read-only what would run later.
    argv += ["--bind", str(worktree), str(worktree)]
    if git.common is not None:
        argv += ["--bind", str(git.common), str(git.common)]
    if (
        git.gitdir is not None
        and git.common is not None
        and not git.gitdir.is_relative_to(git.common)
    ):
        argv += ["--bind", str(git.gitdir), str(git.gitdir)]
    argv += _git_read_only(git)
    argv += ["--chdir", str(worktree), "--", *command]
    return argv


def _git_read_only(git: GitLayout) -> list[str]:
    argv: list[str] = []
    if git.dotgit is not None and git.dotgit.is_file():
        argv += ["--ro-bind", str(git.dotgit), str(git.dotgit)]
    if git.common is not None:
        config = git.common / "config"
        if config.is_file():
            argv += ["--ro-bind", str(config), str(config)]
        hooks = git.common / "hooks"
        if hooks.is_dir():
            argv += ["--ro-bind", str(hooks), str(hooks)]
        else:  # no hooks directory: put an empty read-only one there, so none can be planted
            argv += ["--tmpfs", str(hooks), "--remount-ro", str(hooks)]
        remotes = git.common / "refs" / "remotes"
        if remotes.is_dir():
            argv += ["--ro-bind", str(remotes), str(remotes)]
    if git.gitdir is not None:
        worktree_config = git.gitdir / "config.worktree"
        if worktree_config.is_file():
            argv += ["--ro-bind", str(worktree_config), str(worktree_config)]
        elif git.gitdir != git.common:
            # Cannot be created from inside: an empty file, read-only (an empty config is valid).
            argv += ["--ro-bind", os.devnull, str(worktree_config)]
    return argv
