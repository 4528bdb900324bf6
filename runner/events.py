"""What a session process says while it runs, and what its worker may tell it.

The session writes one `SessionEvent` per line of JSON on stdout (`runner.session_process`);
its worker stores each one (the `session_events` table: the dashboard's live log, and the
record of which check runs an attempt opened, so that the worker can conclude them if the
attempt dies). The worker writes `Control` lines on the session's stdin: stop, or a fresh
installation token.

Both are pydantic discriminated unions on `type`; `parse_event` / `parse_control` validate one
line. Nothing here holds a secret except `TokenRefresh`, which only ever goes to the session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_serializer

from runner.conversation_state import ConversationState


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Started(_Event):
    type: Literal["started"] = "started"
    session_id: str
    pid: int


class Log(_Event):
    """A progress line (what the CLI prints)."""

    type: Literal["log"] = "log"
    line: str


class Text(_Event):
    """What the model said."""

    type: Literal["text"] = "text"
    text: str


class ToolCall(_Event):
    type: Literal["tool_call"] = "tool_call"
    name: str
    summary: str


class Command(_Event):
    """A command the model asked to run: its exit code (None: refused before it ran)."""

    type: Literal["command"] = "command"
    command: str
    exit_code: int | None
    refused_reason: str | None = None
    timed_out: bool = False


class CheckRun(_Event):
    """A check run the session opened (`in_progress`) or concluded (`completed`)."""

    type: Literal["check_run"] = "check_run"
    id: int
    state: Literal["in_progress", "completed"]
    head_sha: str = ""


class CommitPushed(_Event):
    type: Literal["commit_pushed"] = "commit_pushed"
    branch: str
    sha: str


class PrOpened(_Event):
    type: Literal["pr_opened"] = "pr_opened"
    number: int
    url: str


class LimitReached(_Event):
    type: Literal["limit_reached"] = "limit_reached"
    reason: str


class Spend(_Event):
    """What the session has spent so far (after every model turn): the worker records it on
    the attempt, so spend caps hold even when the session never concludes."""

    type: Literal["spend"] = "spend"
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class ResumeState(_Event):
    """What the next attempt needs to continue the conversation (at a checkpoint, and when
    the session ends unfinished); `state.finished`: nothing to continue."""

    type: Literal["resume_state"] = "resume_state"
    state: ConversationState


class Steered(_Event):
    """A maintainer's message (`/autocoder tell`) reached the model."""

    type: Literal["steered"] = "steered"
    comment_id: int
    author: str


class Result(_Event):
    """The session concluded (whatever the conclusion): its check run says so too."""

    type: Literal["result"] = "result"
    conclusion: Literal["success", "neutral", "failure", "timed_out", "cancelled"]
    summary: str = ""
    error: str | None = None
    branch: str | None = None
    pull_number: int | None = None
    pull_request_url: str | None = None
    check_run_url: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    github_requests: int = 0  # GitHub REST calls the session sent (SessionResult's count)
    stopped: bool = False  # it stopped because its worker told it to (or the server went)
    paused_until: datetime | None = None  # the model's quota ran out: run it again then
    features_passing: list[int] = []  # feature issues this session labelled passing (#13)
    sequence: str | None = None  # a spec/feature session: `.github/autocoder.yml` sequence


class Failure(_Event):
    """The session could not run to a conclusion (set-up, GitHub, git or a bug).
    `transient`: running it again later may succeed."""

    type: Literal["failure"] = "failure"
    error: str
    transient: bool


SessionEvent = Annotated[
    Started
    | Log
    | Text
    | ToolCall
    | Command
    | CheckRun
    | CommitPushed
    | PrOpened
    | LimitReached
    | Spend
    | ResumeState
    | Steered
    | Result
    | Failure,
    Field(discriminator="type"),
]
_EVENTS: TypeAdapter[SessionEvent] = TypeAdapter(SessionEvent)
EVENT_TYPES = frozenset(
    cls.model_fields["type"].default
    for cls in (
        Started,
        Log,
        Text,
        ToolCall,
        Command,
        CheckRun,
        CommitPushed,
        PrOpened,
        LimitReached,
        Spend,
        ResumeState,
        Steered,
        Result,
        Failure,
    )
)


def parse_event(line: str | bytes) -> SessionEvent:
    """One line of a session's stdout. Raises `ValueError` (pydantic's) when it is not an
    event."""
    return _EVENTS.validate_json(line)


def event_from_data(data: object) -> SessionEvent:
    """An event stored as data (`type` included) back as a model."""
    return _EVENTS.validate_python(data)


def event_line(event: SessionEvent) -> str:
    return event.model_dump_json() + "\n"


# -- worker → session ----------------------------------------------------------------------------


class Stop(_Event):
    """Stop gracefully: commit and push the work so far, conclude the check run."""

    type: Literal["stop"] = "stop"
    reason: str


class TokenRefresh(_Event):
    type: Literal["token"] = "token"
    token: SecretStr
    expires_at: datetime | None = None

    @field_serializer("token")
    def _dump_token(self, token: SecretStr) -> str:
        return token.get_secret_value()


class Tell(_Event):
    """A message for the running agent from a person with write access (`/autocoder tell`,
    or a mention of the app when the repository has `steer: mentions`)."""

    type: Literal["tell"] = "tell"
    comment_id: int
    author: str
    text: str
    mention: bool = False


Control = Annotated[Stop | TokenRefresh | Tell, Field(discriminator="type")]
_CONTROLS: TypeAdapter[Control] = TypeAdapter(Control)


def parse_control(line: str | bytes) -> Control:
    return _CONTROLS.validate_json(line)


def control_line(control: Stop | TokenRefresh | Tell) -> str:
    return control.model_dump_json() + "\n"
