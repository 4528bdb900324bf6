"""Playback state of a script: which turn the next counted request gets, and with what fault.

Thread-safe and free of I/O: the HTTP layer asks `next_step()` once per counted request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .script import Fault, Script, Stall, Turn


@dataclass(frozen=True)
class Serve:
    """Answer with `turn`; `index` is None when the script is exhausted (the final text)."""

    turn: Turn
    index: int | None


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error instead of turn `index` (the turn stays next)."""

    fault: Fault
    index: int


@dataclass(frozen=True)
class Hold:
    """Hold the request open, then answer with an error; turn `index` stays next."""

    stall: Stall
    index: int


Step = Serve | Fail | Hold


class ScriptPlayer:
    """Serves a script's turns in order, applying each turn's faults and stalls first."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._lock = threading.Lock()
        self._next = 0
        self._attempts = 0  # requests already answered for the current turn
        self._exhausted_requests = 0

    @property
    def script(self) -> Script:
        return self._script

    @property
    def turns_served(self) -> int:
        """How many scripted turns have been served (faults and stalls do not count)."""
        with self._lock:
            return self._next

    @property
    def exhausted_requests(self) -> int:
        """How many requests came after the last turn and got the final text."""
        with self._lock:
            return self._exhausted_requests

    def next_step(self) -> Step:
        """Decide what the next counted request gets, and advance."""
        with self._lock:
            turns = self._script.turns
            if self._next >= len(turns):
                self._exhausted_requests += 1
                return Serve(turn=Turn(text=self._script.final_text), index=None)
            index = self._next
            turn = turns[index]
            attempt = self._attempts
            self._attempts += 1
            faults = turn.fault.times if turn.fault else 0
            stalls = turn.stall.times if turn.stall else 0
            if turn.fault is not None and attempt < faults:
                return Fail(fault=turn.fault, index=index)
            if turn.stall is not None and attempt < faults + stalls:
                return Hold(stall=turn.stall, index=index)
            self._next += 1
            self._attempts = 0
            return Serve(turn=turn, index=index)
