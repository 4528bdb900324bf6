"""`CommandPolicy`: what the model's shell commands may run, and where."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.policy.allowlist import DEFAULT_ALLOWED_COMMANDS

__all__ = ["CommandPolicy"]


@dataclass(frozen=True)
class CommandPolicy:
    """What the model's shell commands may do: run allowed commands inside `worktree`."""

    worktree: Path
    allowed_commands: frozenset[str]

    @classmethod
    def default(cls, worktree: Path, extra_commands: Iterable[str] = ()) -> CommandPolicy:
        """The default allowlist, plus `extra_commands` (from the repository's configuration).

        Extra commands cannot lift the hard rules: `eval`, `sudo`, `git push` and the like stay
        refused whatever is added.
        """
        return cls(worktree, DEFAULT_ALLOWED_COMMANDS | frozenset(extra_commands))
