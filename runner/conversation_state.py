"""What a session needs to continue its conversation later, and what people tell it meanwhile.

`ConversationState` is stored by the worker (a `resume_state` event, written at every
checkpoint and when a session ends unfinished) and comes back in the next attempt's work order:
the OpenAI engine's message history, or the Claude engine's session id and transcript, plus the
branch head the conversation had reached. `Transcript` is the live holder an engine fills as it
goes; `snapshot` takes a state that is safe to send to a model again (never a tool call without
its answer).

`SteeringInbox` carries `/autocoder tell` messages from the worker's control lines (another
thread) to the engine, which takes them before its next model request and says it did
(`delivered`), so the session can acknowledge them on GitHub.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESUME_NOTE = (
    "The session was interrupted (a crash, a limit or a pause) and resumes now. The work up to "
    "the last checkpoint is committed on the branch and the worktree holds it. Continue the "
    "task from where the conversation above left off; do not start over."
)


class ConversationState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["openai", "claude"]
    messages: list[dict[str, Any]] = Field(default_factory=list)  # openai, without the system
    claude_session_id: str | None = None
    transcript: str | None = None  # claude: the session's JSONL transcript
    head_sha: str | None = None  # the branch head the conversation had reached
    finished: bool = False  # the session concluded its task: nothing to continue


def consistent_prefix(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The longest prefix of an OpenAI conversation in which every assistant tool call has its
    tool answer (a model refuses a history with a dangling call)."""
    out: list[dict[str, Any]] = []
    pending: set[str] = set()
    safe = 0
    for message in messages:
        out.append(dict(message))
        role = message.get("role")
        if role == "assistant":
            pending = {
                str(call.get("id"))
                for call in message.get("tool_calls") or ()
                if isinstance(call, Mapping)
            }
        elif role == "tool":
            pending.discard(str(message.get("tool_call_id")))
        if not pending:
            safe = len(out)
    return out[:safe]


class Transcript:
    """The live conversation of one engine run (set by the engine, read by the checkpointer)."""

    def __init__(self, engine: Literal["openai", "claude"]) -> None:
        self.engine = engine
        self.messages: list[dict[str, Any]] | None = None  # the engine's own list (openai)
        self.claude_session_id: str | None = None
        self.transcript_reader: Callable[[], str | None] | None = None

    def snapshot(self, head_sha: str | None, *, finished: bool = False) -> ConversationState:
        messages = self.messages or []
        history = [m for m in consistent_prefix(messages) if m.get("role") != "system"]
        transcript = self.transcript_reader() if self.transcript_reader is not None else None
        return ConversationState(
            engine=self.engine,
            messages=history,
            claude_session_id=self.claude_session_id,
            transcript=transcript,
            head_sha=head_sha,
            finished=finished,
        )


@dataclass(frozen=True)
class SteerMessage:
    comment_id: int
    author: str
    text: str
    mention: bool = False  # a mention of the app, not a `/autocoder tell` command

    def as_user_message(self) -> str:
        return (
            f"@{self.author} (a maintainer of the repository) says, while you work:\n\n"
            f"{self.text}\n\nTake this into account from now on."
        )


class SteeringInbox:
    """Thread-safe: `put` from the control reader, `take` from the engine's loop."""

    def __init__(self, on_delivered: Callable[[SteerMessage], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: list[SteerMessage] = []
        self._seen: set[int] = set()
        self.accept_mentions = False  # `.github/autocoder.yml` `steer: mentions`
        self.on_delivered = on_delivered

    def put(self, message: SteerMessage) -> None:
        with self._lock:
            if message.comment_id in self._seen:
                return
            self._seen.add(message.comment_id)
            self._pending.append(message)

    def take(self) -> list[SteerMessage]:
        """The messages to give the model now (mentions only when the repository allows it)."""
        with self._lock:
            taken = [m for m in self._pending if self.accept_mentions or not m.mention]
            self._pending = []
        return taken

    def delivered(self, message: SteerMessage) -> None:
        if self.on_delivered is not None:
            self.on_delivered(message)
