"""What a per-command rule may ask of the shell walker, and how a rule refuses.

The walker (`runner.policy.walker`) reads the structure of a command line; the rules
(`runner.policy.rules`) read one command's arguments. A rule gets the `Walker`, the command's
name and its words, and the directories it may run in; it raises `Refused` or returns the
directories the shell is in afterwards (only `cd` changes them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from runner.policy.shell_text import Word

__all__ = ["Cwds", "Refused", "Rule", "Walker"]

Cwds = frozenset[Path]


class Refused(Exception):
    """The command may not run; `reason` says why, for the model to read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Walker(Protocol):
    @property
    def root(self) -> Path:
        """The resolved worktree."""
        ...

    def argv(self, args: list[Word], cwds: Cwds) -> Cwds:
        """Judge a command (name and arguments) another command will run."""
        ...

    def nested(self, text: str, cwds: Cwds, where: str) -> None:
        """Judge a whole command line another command will run (`bash -c TEXT`)."""
        ...

    def check(self, what: str, value: str, cwds: Cwds, *, write: bool) -> None:
        """Refuse unless the path `value` may be read (or written) from every one of `cwds`."""
        ...

    def check_word(self, name: str, word: Word, cwds: Cwds, *, write: bool, strict: bool) -> None:
        """`check` for every value of `word`; a run-time value is refused when writing or
        `strict`."""
        ...


Rule = Callable[[Walker, str, list[Word], Cwds], Cwds]
