"""The bubblewrap command line that confines one shell command.

What the command sees:

- the whole system read-only (`--ro-bind / /`), with fresh /dev and /proc, and its own PID, IPC
  and UTS namespaces (other processes, including the runner and its environment, are invisible);
- no network (a new network namespace with only loopback) unless the repository asks for it;
- a private, empty /tmp (HOME is /tmp/home) and an empty /run (no daemon sockets);
- the worktree, writable;
- no git metadata of the host at all: the worktree's `.git` is covered by a throwaway scratch
  git dir (`runner.workspace.sandbox_git`: writable, its `config` and `hooks/` read-only) that
  borrows the real objects read-only, so `git add`/`git commit`/`git log` work and nothing the
  command writes is read by host git later; where there is no usable git dir, `.git` is covered
  by an empty read-only placeholder;
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
from pathlib import Path

from runner.sandbox.environment import SANDBOX_HOME, SANDBOX_TMP
from runner.workspace.sandbox_git import SANDBOX_GIT_DIR, SANDBOX_OBJECTS, SandboxGitView

__all__ = ["bwrap_argv", "home_secrets"]

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
    git: SandboxGitView | None,
    hidden: Sequence[Path] = (),
    keep_visible: Sequence[Path] = (),
) -> list[str]:
    """The bwrap argv that runs `command` (an argv) confined to `worktree`.

    `worktree` and the paths in `git` must be resolved; `git` is what commands see as the
    worktree's git dir (None: no git; any `.git` there is covered). `hidden` are files or
    directories to hide (credential stores); `keep_visible` are directories that must stay
    visible (PATH entries), so a directory holding one of them is never hidden as a whole.
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
    for place in (worktree, git.common if git is not None else None):
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

    # Writable: the worktree; then its `.git` covered by the scratch git dir (or a placeholder).
    argv += ["--bind", str(worktree), str(worktree)]
    argv += _git_view(worktree, git)
    argv += ["--chdir", str(worktree), "--", *command]
    return argv


def _git_view(worktree: Path, git: SandboxGitView | None) -> list[str]:
    dotgit = worktree / ".git"
    if git is None:
        if dotgit.is_dir() and not dotgit.is_symlink():
            return ["--tmpfs", str(dotgit), "--remount-ro", str(dotgit)]
        if dotgit.exists() or dotgit.is_symlink():
            return ["--ro-bind", os.devnull, str(dotgit)]
        return []
    argv = ["--ro-bind", str(git.objects), SANDBOX_OBJECTS]
    if git.pointer is not None:
        inside = Path(SANDBOX_GIT_DIR)
        argv += ["--bind", str(git.scratch), str(inside)]
        argv += ["--ro-bind", str(git.pointer), str(dotgit)]
    else:
        inside = git.dotgit
        argv += ["--bind", str(git.scratch), str(inside)]
    argv += ["--ro-bind", str(git.scratch / "config"), str(inside / "config")]
    argv += ["--ro-bind", str(git.scratch / "hooks"), str(inside / "hooks")]
    return argv
