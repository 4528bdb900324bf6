"""What the assistant reports while it answers; the view turns these into terminal output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's answer, as it arrives."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    name: str
    arguments: str  # one line, shortened: `path="a.py", old_text="x"`


@dataclass(frozen=True)
class ToolFinished:
    name: str
    ok: bool
    summary: str  # one line: the result, or why it failed
    diff: str | None = None  # a unified diff when a file changed


@dataclass(frozen=True)
class Notice:
    """Something the person should know that is not the model's answer (a retry, a limit)."""

    text: str


ChatEvent = TextDelta | ToolStarted | ToolFinished | Notice
ChatSink = Callable[[ChatEvent], None]
