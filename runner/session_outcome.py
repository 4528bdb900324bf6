"""How the engine part of a session ended: what `runner.session_end` commits, pushes and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from runner.conversation_state import Transcript
from runner.task import CommandRecord, Conclusion, Usage


@dataclass
class Outcome:
    conclusion: Conclusion
    account: str = ""
    stop_reason: str | None = None
    error: str | None = None
    commands: list[CommandRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    sandbox: str = ""
    delivered: bool = False  # an interrupted session's finished work, delivered without a model
    limit: str | None = None  # the limit that ended it (a cap, a stall, a loop), named
    paused_until: datetime | None = None  # the model's quota ran out: it runs again then
    transcript: Transcript | None = None  # the conversation, for the next attempt
    squash: bool = False  # `squash_checkpoints`: the final commit replaces the checkpoints
    features_passing: tuple[int, ...] = ()  # labelled passing at its end (issue #13)
    sequence: str | None = None  # `.github/autocoder.yml` sequence: (issue #13)
