"""What a session is asked to do (Task) and what it reports back (SessionResult).

Plain data: no I/O, no GitHub or git objects. The App, the Action and the CLI all build a Task and
hand it to the session orchestrator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from runner.spend import ScopeBudget

if TYPE_CHECKING:
    from runner.features.session import FeatureScope


class TaskKind(enum.StrEnum):
    NEW_WORK = "new_work"
    FOLLOW_UP = "follow_up"


class Conclusion(enum.StrEnum):
    """A check run's conclusion, as GitHub spells it."""

    SUCCESS = "success"
    NEUTRAL = "neutral"
    FAILURE = "failure"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Limits:
    """Caps on one session. Reaching one ends the session cleanly (work so far is kept)."""

    max_turns: int = 50
    timeout_s: float = 30 * 60
    max_cost_usd: float = 5.0
    max_tokens: int | None = None  # input + output tokens of the session
    stall_s: float | None = None  # no model or tool progress for this long: timed out
    loop_repeats: int | None = None  # the same tool call and result this many times: a loop
    # Caps beyond the session's (issue, repository per day, installation per month), each with
    # what earlier sessions spent (`runner.spend`; the App's worker fills these in).
    budgets: tuple[ScopeBudget, ...] = ()


@dataclass(frozen=True)
class Comment:
    author: str
    body: str
    author_can_write: bool = False


@dataclass(frozen=True)
class ReviewComment:
    """An inline review comment on autocoder's pull request."""

    id: int
    author: str
    body: str
    path: str
    line: int | None


@dataclass(frozen=True)
class Review:
    id: int
    author: str
    state: str  # "changes_requested" | "commented" | "approved"
    body: str
    comments: tuple[ReviewComment, ...] = ()


@dataclass(frozen=True)
class Task:
    repository: str  # "owner/name"
    issue_number: int
    title: str
    body: str
    triggered_by: str
    base_branch: str | None = None  # None: the repository's default branch
    kind: TaskKind = TaskKind.NEW_WORK
    comments: tuple[Comment, ...] = ()
    review: Review | None = None  # set for follow-ups
    pull_number: int | None = None  # set for follow-ups
    limits: Limits = field(default_factory=Limits)
    features: FeatureScope | None = None  # a spec or feature task: the feature tools (issue #13)

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        return self.repository.split("/", 1)[1]


@dataclass(frozen=True)
class CommandRecord:
    """One command the model asked to run, and what became of it."""

    command: str
    exit_code: int | None  # None when refused before running
    refused_reason: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Usage:
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class SessionResult:
    session_id: str
    conclusion: Conclusion
    summary: str  # the model's own account of what it changed and why
    branch: str | None = None
    pull_request_url: str | None = None
    pull_number: int | None = None
    check_run_url: str | None = None
    commits: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    duration_s: float = 0.0
    commands: tuple[CommandRecord, ...] = ()
    error: str | None = None
    sandbox_notice: str | None = None  # commands ran unconfined, or none could run: why
    github_requests: int = 0  # REST calls the session's GitHub client sent (retries included)
    features_passing: tuple[int, ...] = ()  # feature issues this session labelled passing
    sequence: str | None = None  # a spec/feature session: the repository's `sequence:`
    limit: str | None = None  # the limit that ended the session, named (a cap, a stall, a loop)
    paused_until: datetime | None = None  # the model's quota ran out: it resumes then (#14)
