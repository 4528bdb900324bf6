"""Asking before a command outside the allowlist runs.

The question is asked on the main thread, before the tool runs (tools run in a worker thread, and
a question asked there could not be interrupted with Ctrl-C); the answer is handed to the
toolbox as a one-time grant that its `confirm` hook consumes. `--yes` allows every command.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

AskCommand = Callable[[str, str], bool]
"""Asked `(command, reason)`; True runs the command."""


class CommandApprovals:
    def __init__(self, ask: AskCommand | None = None, *, allow_all: bool = False) -> None:
        self._ask = ask
        self.allow_all = allow_all
        self._grants: Counter[str] = Counter()
        self._lock = threading.Lock()

    def ask(self, command: str, reason: str) -> bool:
        """Ask the person now (main thread); a yes lets the command run once."""
        if self.allow_all:
            return True
        if self._ask is None or not self._ask(command, reason):
            return False
        with self._lock:
            self._grants[command] += 1
        return True

    def confirm(self, command: str, reason: str) -> bool:
        """The toolbox's `confirm` hook: True when allowed by --yes or by an answer given."""
        if self.allow_all:
            return True
        with self._lock:
            if self._grants[command] > 0:
                self._grants[command] -= 1
                return True
        return False

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()
