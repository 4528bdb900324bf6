"""Jobs a worker refuses to start a session for: no model configured, or a spend cap already
used up. The issue is told once (a hidden marker finds the earlier comment); the job fails."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app import spend
from app.db.models import utcnow
from app.queue import store
from app.queue.models import Job
from app.worker.engine_gate import not_configured_comment
from runner.github.client import GitHubClient
from runner.github.errors import GitHubError
from runner.spend import ScopeBudget

log = logging.getLogger("app.worker.pool")


def refuse_unconfigured(
    sessions: sessionmaker[Session],
    github_for: Callable[[Job], GitHubClient | None],
    job: Job,
    worker_id: str,
    problem: str,
) -> None:
    """No model: say so once on the issue, start no session, fail the job."""
    log.error("job %s (%s#%s): not started: %s", job.id, job.repository, job.issue_number, problem)
    marker, body = not_configured_comment()
    _refuse(
        sessions,
        github_for,
        job,
        worker_id,
        comment=(marker, body),
        error=f"not started: autocoder is not configured with a model: {problem}",
    )


def refuse_over_budget(
    sessions: sessionmaker[Session],
    github_for: Callable[[Job], GitHubClient | None],
    job: Job,
    worker_id: str,
    budget: ScopeBudget,
    kind: str,
) -> None:
    """A spend cap earlier sessions used up: no session; the issue is told once per cap
    and period; the job fails naming the cap."""
    what = budget.describe(kind)
    log.warning("job %s (%s#%s): not started: %s", job.id, job.repository, job.issue_number, what)
    comment = spend.refusal_comment(budget, kind, utcnow())
    _refuse(sessions, github_for, job, worker_id, comment=comment, error=f"not started: {what}")


def _refuse(
    sessions: sessionmaker[Session],
    github_for: Callable[[Job], GitHubClient | None],
    job: Job,
    worker_id: str,
    *,
    comment: tuple[str, str],
    error: str,
) -> None:
    """Post `comment` (marker, body) on the issue unless its marker is already there, then fail
    the job with `error`."""
    marker, body = comment
    github = github_for(job)
    if github is not None:
        try:
            if github.find_issue_comment(job.repository, job.issue_number, marker) is None:
                github.create_issue_comment(job.repository, job.issue_number, body)
        except GitHubError as failure:
            log.warning("job %s: could not comment on the issue: %s", job.id, failure)
        finally:
            github.close()
    with sessions() as db:
        store.finish(db, job.id, worker_id, state="failed", error=error)
