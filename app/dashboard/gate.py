"""What a person signed in through GitHub may reach: only repositories they can write to.

Every request path is mapped to what it is about (`scope_of`, pure): a repository named in the
path, a job or a session (whose repository is looked up), a path that shows no repository's data
(the home page shell, the installations list — filtered by the route —, static files, health), or
none of these, which is refused: a route added later is closed to GitHub sign-ins until it is
given a rule here. Write access is GitHub's collaborator permission (admin, maintain, write) read
with the App's installation token and remembered briefly (`AppGitHub.permission`).

The operator (HTTP basic sign-in, or this machine's user) is not gated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Repository, SessionRecord
from app.queue.models import Job
from runner.github.client import WRITE_PERMISSIONS

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/", "/api/dashboard/installations", "/healthz", "/openapi.json"})
OPEN_PREFIXES = ("/static/", "/auth/")
_NAME = r"([A-Za-z0-9_.-]{1,100})"
REPOSITORY_PATHS = (
    re.compile(rf"^/repos/{_NAME}/{_NAME}$"),
    re.compile(rf"^/api/dashboard/repos/{_NAME}/{_NAME}(?:/.*)?$"),
    re.compile(rf"^/api/repos/{_NAME}/{_NAME}(?:/.*)?$"),
)
JOB_PATHS = (re.compile(r"^/jobs/([0-9]+)$"), re.compile(r"^/api/dashboard/jobs/([0-9]+)(?:/.*)?$"))
SESSION_PATHS = (re.compile(r"^/api/sessions/([0-9]+)$"),)


@dataclass(frozen=True)
class Open:
    """Shows no repository's data (or filters it itself)."""


@dataclass(frozen=True)
class OfRepository:
    full_name: str


@dataclass(frozen=True)
class OfJob:
    job_id: int


@dataclass(frozen=True)
class OfSession:
    session_id: int


PathScope = Open | OfRepository | OfJob | OfSession


def scope_of(path: str) -> PathScope | None:
    """What `path` is about; None: no rule, so closed to GitHub sign-ins."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return Open()
    for pattern in REPOSITORY_PATHS:
        if match := pattern.match(path):
            return OfRepository(f"{match.group(1)}/{match.group(2)}")
    for pattern in JOB_PATHS:
        if match := pattern.match(path):
            return OfJob(int(match.group(1)))
    for pattern in SESSION_PATHS:
        if match := pattern.match(path):
            return OfSession(int(match.group(1)))
    return None


class PermissionSource(Protocol):
    """GitHub's answer to "what may `login` do on `repository`" (`AppGitHub.permission`)."""

    def permission(self, installation_id: int, repository: str, login: str) -> str: ...


@dataclass(frozen=True)
class Gate:
    sessions: Callable[[], AbstractContextManager[Session]]
    github: PermissionSource | None

    def can_write(self, login: str, repository: str) -> bool:
        with self.sessions() as db:
            row = db.scalar(select(Repository).where(Repository.full_name == repository))
            installation_id = row.installation_id if row is not None else None
            full_name = row.full_name if row is not None else repository
        if installation_id is None or self.github is None:
            return False
        try:
            permission = self.github.permission(installation_id, full_name, login)
        except Exception as error:  # GitHub unreachable: no access rather than a guess
            log.warning("could not read %s's permission on %s: %s", login, full_name, error)
            return False
        return permission in WRITE_PERMISSIONS

    def repository_of(self, scope: PathScope) -> str | None:
        with self.sessions() as db:
            if isinstance(scope, OfRepository):
                return scope.full_name
            if isinstance(scope, OfJob):
                return db.scalar(select(Job.repository).where(Job.id == scope.job_id))
            if isinstance(scope, OfSession):
                return db.scalar(
                    select(SessionRecord.repository).where(SessionRecord.id == scope.session_id)
                )
        return None

    def refusal(self, login: str, path: str) -> str | None:
        """Why `login` may not open `path` (None: they may). Blocking: call off the loop."""
        scope = scope_of(path)
        if scope is None:
            return "this part of autocoder is for its operator, not for GitHub sign-ins"
        if isinstance(scope, Open):
            return None
        repository = self.repository_of(scope)
        if repository is None or not self.can_write(login, repository):
            # the same answer whether it exists or not: names are not confirmed to outsiders
            return f"@{login} has no write access to this repository"
        return None
