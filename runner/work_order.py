"""The one work order a session process receives: what to do, as whom, with which settings.

The App's worker builds it from the job row and hands it to the session process as one line of
JSON on stdin (`runner.session_process`); the session validates it here and needs nothing else —
no database, no App private key. GitHub access is a short-lived installation token for the one
repository (a later `TokenRefresh` control line replaces it, see `runner.events`); the model's
credentials and every runner setting travel inside `settings`.

`WorkKind` is the vocabulary of work for the whole system: a `runner.decide.Decision` that runs a
session carries one (`Decision.work_kind`), the job row stores it, and the session maps it to
the task it loads (`task_kind`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from runner.conversation_state import ConversationState
from runner.github.convert import issue_from_json, repo_from_json
from runner.github.types import IssueInfo, RepoInfo
from runner.settings import RunnerSettings
from runner.spend import ScopeBudget
from runner.task import TaskKind

WORK_ORDER_VERSION: Literal[1] = 1


class WorkKind(enum.StrEnum):
    """What a job asks a session to do (the job's `kind` column holds these values)."""

    START = "start"  # new work for an issue
    FOLLOW_UP = "follow_up"  # another pass on autocoder's pull request (a review, a command)
    RETRY = "retry"  # the issue's work again
    INITIALIZE = "initialize"  # a spec issue: create its features, the skeleton, init.sh
    FEATURE = "feature"  # one feature of a spec's sequence (the job's issue is the feature)

    @property
    def task_kind(self) -> TaskKind:
        return TaskKind.FOLLOW_UP if self is WorkKind.FOLLOW_UP else TaskKind.NEW_WORK

    @property
    def exclusive(self) -> bool:
        """Dropped while the issue already has an active job (a follow-up queues behind it)."""
        return self is not WorkKind.FOLLOW_UP


class IssueFacts(BaseModel):
    """What the webhook that asked for the work already said about the issue and its
    repository (issue #11): a session that has them reads neither again, and does not list the
    issue's comments when there were none. Optional in a work order: without them (`autocoder
    run`, the Action, a job retried or stored long ago) the session reads GitHub as before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    body: str = ""
    author: str = Field(min_length=1)
    labels: tuple[str, ...] = ()
    html_url: str = ""
    comments: int = Field(ge=0)  # how many comments the issue had
    default_branch: str = Field(min_length=1, max_length=255)
    clone_url: str = Field(pattern=r"^https?://\S+$")
    repository_url: str = ""
    private: bool = False

    @classmethod
    def from_webhook(cls, payload: Mapping[str, Any], number: int) -> IssueFacts | None:
        """The facts an `issues` or `issue_comment` delivery gives about issue `number` (None
        for a pull request's conversation, another issue, or a payload that lacks them)."""
        issue, repo = payload.get("issue"), payload.get("repository")
        if not isinstance(issue, Mapping) or not isinstance(repo, Mapping):
            return None
        if issue.get("number") != number:
            return None
        try:
            info, repo_info = issue_from_json(issue), repo_from_json(repo)
            comments = int(issue.get("comments") or 0)
            if isinstance(payload.get("comment"), Mapping):  # one at least: the new comment
                comments = max(comments, 1)
            if info.is_pull_request:
                return None
            return cls(
                title=info.title,
                body=info.body,
                author=info.author,
                labels=info.labels,
                html_url=info.html_url,
                comments=comments,
                default_branch=repo_info.default_branch,
                clone_url=repo_info.clone_url,
                repository_url=repo_info.html_url,
                private=repo_info.private,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def issue(self, number: int) -> IssueInfo:
        return IssueInfo(
            number=number,
            title=self.title,
            body=self.body,
            state="open",
            labels=self.labels,
            author=self.author,
            html_url=self.html_url,
            is_pull_request=False,
        )

    def repository(self, full_name: str) -> RepoInfo:
        return RepoInfo(
            full_name=full_name,
            clone_url=self.clone_url,
            default_branch=self.default_branch,
            private=self.private,
            html_url=self.repository_url,
        )


class WorkOrderError(ValueError):
    """A work order that cannot be run; the message says what is wrong."""


def _reveal(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _input_name(name: str) -> str:
    """The key `RunnerSettings.model_validate` accepts for a field: its first validation alias
    (e.g. `AUTOCODER_API_KEY`) when it has one, else its name."""
    alias = RunnerSettings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return alias if isinstance(alias, str) else name


def settings_data(settings: RunnerSettings) -> dict[str, Any]:
    """The settings as plain JSON-able data, secrets included (this goes over a pipe to the
    session, never to a log), keyed so that `RunnerSettings.model_validate` reads them back."""
    return {_input_name(name): _reveal(value) for name, value in settings.model_dump().items()}


class WorkOrder(BaseModel):
    """One attempt of one job. Frozen; unknown fields are refused (a version mismatch between
    worker and session image fails loudly rather than silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = WORK_ORDER_VERSION
    job_id: int = Field(ge=1)
    attempt: int = Field(ge=1)
    session_id: str = Field(min_length=1, max_length=64)
    kind: WorkKind
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    issue_number: int = Field(ge=1)
    pull_number: int | None = Field(default=None, ge=1)  # follow-ups: autocoder's pull request
    review_id: int | None = None  # follow-ups: the review that asked for it
    actor: str | None = None  # who asked (co-author, reviewer of the pull request)
    spec_issue: int | None = Field(default=None, ge=1)  # initialize / feature: the spec issue
    base_branch: str | None = Field(default=None, max_length=255)  # stacked on this branch
    github_token: SecretStr  # an installation token for this repository only
    github_token_expires_at: datetime | None = None
    seconds_between_writes: float = Field(default=1.0, ge=0)
    write_burst: int = Field(default=0, ge=0)  # writes sent at once before the spacing applies
    # Spend caps beyond the session's, with what earlier sessions spent (`runner.spend`).
    budgets: tuple[ScopeBudget, ...] = ()
    # An earlier attempt's conversation, to continue instead of starting over (issue #14).
    resume: ConversationState | None = None
    # The session's page on the dashboard (AUTOCODER_PUBLIC_URL): its check runs' Details link.
    details_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://\S+$")
    # The issue and repository as the webhook described them; None: read them from GitHub.
    facts: IssueFacts | None = None
    settings: RunnerSettings

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: object) -> RunnerSettings:
        if isinstance(value, RunnerSettings):
            settings = value
        elif isinstance(value, dict):
            # By field name; model_validate never reads the process environment.
            settings = RunnerSettings.model_validate(value)
        else:
            raise WorkOrderError("settings must be an object of runner settings")
        if settings.github_private_key is not None or settings.github_private_key_path:
            raise WorkOrderError("a work order never carries the App's private key")
        if settings.github_token is not None:
            raise WorkOrderError("a work order carries GitHub access only as github_token")
        return settings

    @field_serializer("settings")
    def _dump_settings(self, settings: RunnerSettings) -> dict[str, Any]:
        return settings_data(settings)

    @field_serializer("github_token")
    def _dump_token(self, token: SecretStr) -> str:
        return token.get_secret_value()

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if ".." in value:
            raise ValueError("repository must be owner/name")
        return value

    @model_validator(mode="after")
    def _follow_up_has_pull(self) -> WorkOrder:
        if self.kind is WorkKind.FOLLOW_UP and self.pull_number is None:
            raise ValueError(f"follow-up job {self.job_id} names no pull request")
        if self.kind in (WorkKind.INITIALIZE, WorkKind.FEATURE) and self.spec_issue is None:
            raise ValueError(f"{self.kind.value} job {self.job_id} names no spec issue")
        return self

    def to_line(self) -> str:
        """One line of JSON, secrets included, for the session's stdin."""
        return self.model_dump_json() + "\n"

    @classmethod
    def from_line(cls, line: str | bytes) -> WorkOrder:
        """Raises pydantic's `ValidationError` (a `ValueError`) when the line is not one."""
        return cls.model_validate_json(line)

    def __repr_args__(self) -> Any:  # never the settings' secrets in a repr
        return [(k, v) for k, v in super().__repr_args__() if k != "settings"]


def session_settings(settings: RunnerSettings, *, work_dir: Path | None) -> RunnerSettings:
    """The runner settings a session gets: without any GitHub credential (the work order's
    token is its only access) and with its own work directory."""
    return settings.model_copy(
        update={
            "github_private_key": None,
            "github_private_key_path": None,
            "github_token": None,
            "github_app_id": None,
            "work_dir": work_dir,
        }
    )
