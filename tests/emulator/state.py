"""The emulator's in-memory world: users, apps, installations, tokens and repositories.

Everything here is plain data. Git content (branches, commits) is not stored here: it lives in
each repository's real bare repository on disk and is read from there (see `gitrepo.py`).
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Role = Literal["read", "triage", "write", "maintain", "admin"]
ROLES: tuple[Role, ...] = ("read", "triage", "write", "maintain", "admin")

DEFAULT_APP_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}

DEFAULT_LABELS: tuple[tuple[str, str, str], ...] = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)


def role_at_least(role: str | None, wanted: Role) -> bool:
    if role is None:
        return False
    return ROLES.index(role) >= ROLES.index(wanted)


def node_id(kind: str, number: int) -> str:
    """An opaque GraphQL-style node id, stable for (kind, number)."""
    raw = f"0{len(kind)}:{kind}{number}".encode()
    return base64.b64encode(raw).decode().rstrip("=")


@dataclass
class User:
    login: str
    id: int
    node_id: str
    type: str  # "User" | "Organization" | "Bot"
    created_at: datetime
    name: str | None = None
    email: str | None = None


@dataclass
class App:
    id: int
    slug: str
    name: str
    node_id: str
    client_id: str
    owner: User
    bot: User
    private_key_pem: str
    public_key_pem: str
    webhook_secret: str
    hook_id: int
    created_at: datetime
    webhook_url: str | None = None
    description: str = ""
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APP_PERMISSIONS))
    events: list[str] = field(default_factory=list)  # empty: every event


@dataclass
class Installation:
    id: int
    app_id: int
    account: User
    repo_ids: list[int]
    created_at: datetime
    permissions: dict[str, str]


@dataclass
class Token:
    value: str
    kind: Literal["installation", "user"]
    created_at: datetime
    expires_at: datetime | None = None
    installation_id: int | None = None
    user_login: str | None = None
    repo_ids: list[int] | None = None  # narrowed at creation; None: the installation's repos
    permissions: dict[str, str] = field(default_factory=dict)


@dataclass
class Label:
    id: int
    node_id: str
    name: str
    color: str
    description: str | None
    default: bool = False


@dataclass
class Reaction:
    id: int
    node_id: str
    user: User
    content: str
    created_at: datetime


@dataclass
class Comment:
    id: int
    node_id: str
    issue_number: int
    user: User
    body: str
    created_at: datetime
    updated_at: datetime
    app_id: int | None = None
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class IssueEvent:
    """An entry of an issue's events (`GET …/issues/{n}/events`): `labeled` / `unlabeled`, by
    `actor` (an app's bot when `app_id` is set), with the label's name and color then."""

    id: int
    node_id: str
    event: str
    actor: User
    created_at: datetime
    label_name: str
    label_color: str
    app_id: int | None = None


@dataclass
class Issue:
    number: int
    id: int
    node_id: str
    title: str
    body: str | None
    user: User
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)  # label names, in the order added
    assignees: list[str] = field(default_factory=list)  # logins
    state: str = "open"
    state_reason: str | None = None
    locked: bool = False
    closed_at: datetime | None = None
    closed_by: User | None = None
    is_pull: bool = False
    app_id: int | None = None
    comment_ids: list[int] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    events: list[IssueEvent] = field(default_factory=list)  # oldest first, as GitHub lists them
    # the issue graph (service/issue_graph.py), by issue number within the same repository
    parent: int | None = None
    sub_issues: list[int] = field(default_factory=list)  # in the parent's priority order
    blocked_by: list[int] = field(default_factory=list)  # oldest relation first


@dataclass
class PullRequest:
    number: int
    id: int
    node_id: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    merged_by: User | None = None
    requested_reviewers: list[str] = field(default_factory=list)


@dataclass
class Review:
    id: int
    node_id: str
    pull_number: int
    user: User
    body: str
    state: str  # PENDING | COMMENTED | APPROVED | CHANGES_REQUESTED | DISMISSED
    commit_id: str
    submitted_at: datetime | None


@dataclass
class ReviewComment:
    id: int
    node_id: str
    pull_number: int
    review_id: int
    user: User
    body: str
    path: str
    commit_id: str
    diff_hunk: str
    created_at: datetime
    updated_at: datetime
    line: int | None = None
    side: str = "RIGHT"
    start_line: int | None = None
    start_side: str | None = None
    position: int | None = None
    in_reply_to_id: int | None = None
    subject_type: str = "line"


@dataclass
class CheckSuite:
    id: int
    node_id: str
    app_id: int
    head_sha: str
    head_branch: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckRun:
    id: int
    node_id: str
    app_id: int
    suite_id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    external_id: str | None = None
    details_url: str | None = None
    output: dict[str, Any] = field(default_factory=dict)  # title, summary, text
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowDispatch:
    """A `workflow_dispatch` the repository received (no workflow runs in the emulator)."""

    run_id: int
    workflow: str  # the file name under .github/workflows
    ref: str
    sha: str
    inputs: dict[str, str]
    actor: str  # login of who dispatched (an App's bot user)
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "ref": self.ref,
            "sha": self.sha,
            "inputs": dict(self.inputs),
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class Repo:
    id: int
    node_id: str
    owner: User
    name: str
    private: bool
    default_branch: str
    path: Path
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    description: str | None = None
    collaborators: dict[str, Role] = field(default_factory=dict)  # lower-case login -> role
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = field(default_factory=dict)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    workflow_dispatches: list[WorkflowDispatch] = field(default_factory=list)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def role_of(self, login: str) -> Role | None:
        if login.lower() == self.owner.login.lower():
            return "admin"
        return self.collaborators.get(login.lower())

    def take_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number


@dataclass
class World:
    """All emulator data. Mutated only on the server's event loop (see `server.py`)."""

    users: dict[str, User] = field(default_factory=dict)  # lower-case login -> user
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)  # lower-case full name -> repo
    tokens: dict[str, Token] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))
    _id_lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def installations_for(self, repo: Repo) -> list[Installation]:
        return [i for i in self.installations.values() if repo.id in i.repo_ids]

    def app_for_bot(self, login: str) -> App | None:
        return next((a for a in self.apps.values() if a.bot.login.lower() == login.lower()), None)
