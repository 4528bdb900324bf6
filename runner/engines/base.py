"""The interface every engine implements, and the events it streams to the reporter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runner.conversation_state import ConversationState, SteeringInbox, Transcript
from runner.limits import LimitGuard
from runner.sandbox.mode import SandboxMode
from runner.task import CommandRecord
from runner.tools.registry import ToolSpec


@dataclass(frozen=True)
class AssistantText:
    text: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    summary: str  # one line: the tool's main argument (path, command...)


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    ok: bool
    summary: str  # one line: the result or the refusal reason


@dataclass(frozen=True)
class CommandRan:
    record: CommandRecord


@dataclass(frozen=True)
class Retrying:
    """The model endpoint refused or failed transiently; the engine waits and tries again."""

    reason: str
    wait_s: float


EngineEvent = AssistantText | ToolUse | ToolOutcome | CommandRan | Retrying
EventSink = Callable[[EngineEvent], None]


@dataclass(frozen=True)
class EngineRequest:
    session_id: str
    system_prompt: str
    prompt: str
    worktree: Path
    guard: LimitGuard
    model: str | None = None
    allowed_commands: tuple[str, ...] = ()  # the repository's additions to the allowlist
    network: bool = False  # whether sandboxed commands may reach the network
    # Without a working sandbox the engine offers no command tool, unless this says otherwise.
    sandbox: SandboxMode = SandboxMode.AUTO
    # The runner's own tools for this session (the feature tools of a feature/spec task); none
    # for an ordinary issue session. OpenAI: functions of these names; Claude: MCP tools.
    extra_tools: tuple[ToolSpec, ...] = ()
    # An earlier attempt's conversation to continue (runner.conversation_state); the engine
    # fills `transcript` as it goes (checkpoints read it) and takes maintainers' messages from
    # `steering` before each model request.
    resume: ConversationState | None = None
    transcript: Transcript | None = None
    steering: SteeringInbox | None = None


@dataclass
class EngineOutcome:
    final_text: str
    commands: list[CommandRecord] = field(default_factory=list)


class EngineError(Exception):
    """The model could not be reached or answered unusably; the message says what to check."""


class QuotaExhausted(EngineError):
    """The model's rate or usage limit outlasted the engine's retries: the session pauses and
    runs again after `wait_s` seconds instead of failing."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class Engine(Protocol):
    name: str

    async def run(self, request: EngineRequest, emit: EventSink) -> EngineOutcome:
        """Run the agent loop until the model finishes.

        Raises `runner.limits.LimitReached` when the guard says so (work done so far stays in
        the worktree) and `EngineError` when the model cannot be used.
        """
        ...
