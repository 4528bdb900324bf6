"""The operating-system side of a session process: its private pipes, dying with its worker,
its process name, and the issue's own work directory."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15


def fresh_work_dir(base: Path | None, repository: str, issue_number: int) -> Path:
    """The issue's own directory for worktrees, emptied first. A session killed outright leaves
    its worktree behind, which keeps its branch checked out in the shared mirror; removing the
    directory lets the runner's `git worktree prune` free the branch. Safe because only one
    session per issue is ever active."""
    root = base or Path(tempfile.gettempdir()) / "autocoder-work"
    directory = root / f"{repository.replace('/', '--')}--issue-{issue_number}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the process that started us dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def private_pipes() -> tuple[IO[str], IO[str]]:
    """The work-order/control pipe and the event pipe, on descriptors no child inherits: fd 0
    becomes /dev/null and fd 1 the log (stderr), so nothing the session starts (git, the
    model's CLI, a command in the sandbox) can read a token sent later or forge an event."""
    control_fd, event_fd = os.dup(0), os.dup(1)  # os.dup: not inheritable
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return (
        os.fdopen(control_fd, "r", encoding="utf-8"),
        os.fdopen(event_fd, "w", encoding="utf-8"),
    )


WARM_LINE = "imports done"  # logged once warm: a spare from here starts its session at once
WAITING_NAME = b"ac-waiting"  # the process name (/proc/PID/comm) while no order has come
WORKING_NAME = b"ac-session"  # ... and once it has one


def name_process(name: bytes) -> None:
    """Set this process's name as `ps` and /proc/PID/comm show it (Linux; 15 bytes)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name[:15], 0, 0, 0)
