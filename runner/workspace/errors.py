"""Typed errors of the workspace: each says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence


class WorkspaceError(Exception):
    """Base class of every error raised by `runner.workspace`."""


class CredentialsInUrl(WorkspaceError):
    """A clone URL carried a user name or password; tokens go through `GitAuth` only."""


class UnsupportedUrl(WorkspaceError):
    """A clone URL autocoder cannot mirror (only http, https and file URLs are)."""


class BranchInUse(WorkspaceError):
    """The branch is checked out by another live worktree (another session)."""


class RefNotFound(WorkspaceError):
    """A branch the caller named is not in the mirror (not on the remote at the last update)."""


class GitError(WorkspaceError):
    """A git command failed.

    `command` is the argv that ran (it never holds a token: tokens travel in the environment);
    `stderr` and `stdout` have every known secret replaced by `***`.
    """

    def __init__(
        self,
        command: Sequence[str],
        returncode: int | None,
        stderr: str,
        stdout: str = "",
        *,
        hint: str = "",
    ) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        status = "timed out" if self.returncode is None else f"failed (exit {self.returncode})"
        message = f"`{' '.join(self.command)}` {status}"
        detail = _tail(self.stderr) or _tail(self.stdout)
        if detail:
            message += f": {detail}"
        if self.hint:
            message += f" — {self.hint}"
        return message


class GitAuthError(GitError):
    """The remote refused the credentials (or none were given for a private repository)."""


class PushRejected(GitError):
    """The remote refused to update the branch (non-fast-forward, stale lease, or a hook)."""

    def __init__(
        self,
        command: Sequence[str],
        returncode: int | None,
        stderr: str,
        stdout: str = "",
        *,
        hint: str = "",
        reason: str = "",
    ) -> None:
        self.reason = reason
        super().__init__(command, returncode, stderr, stdout, hint=hint)


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
