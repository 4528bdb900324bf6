"""Closing what a dead session left open on GitHub.

No attempt leaves a check run `in_progress`. A session that dies (killed, crashed) cannot
conclude its check runs; its worker does, from the attempt's events (`close_check_runs`). A
worker that dies (its lease ran out) cannot either; the janitor of the server that takes the job
over does: every check run recorded as abandoned on the job is completed as `cancelled` with a
note saying what happened and what comes next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.queue import store
from app.queue.models import Job
from app.settings import AppSettings
from runner.github.client import GitHubClient
from runner.github.errors import GitHubError, GitHubNotFoundError
from runner.reporting.reporter import ACTIONS_DONE, CHECK_RUN_NAME

if TYPE_CHECKING:
    from app.github_app import AppGitHub

log = logging.getLogger(__name__)


def abandoned_note(
    job: Job, why: str = "server restart or crash; its lease ran out"
) -> tuple[str, str]:
    """Title and summary for a check run whose session died (`why`)."""
    if job.state == "queued":
        next_step = f"autocoder runs the session again (job {job.id})."
    elif job.state == "cancelled":
        next_step = "The session had been asked to stop; it is not run again."
    else:
        next_step = (
            f"autocoder gave up after {job.attempts} attempts; press Retry or comment "
            "`/autocoder retry` to run it again."
        )
    summary = (
        f"The worker running this session for #{job.issue_number} stopped without concluding "
        f"it ({why}). {next_step}"
    )
    return "Interrupted", summary


def close_abandoned_check_runs(github: GitHubClient, job: Job) -> list[int]:
    """Complete the job's abandoned check runs that are still open; returns the ids dealt with
    (closed now, already completed, or gone)."""
    runs = {
        int(entry.get("id") or 0): str(entry.get("head_sha") or "")
        for entry in job.abandoned_check_runs or []
    }
    return close_check_runs(github, job, {k: v for k, v in runs.items() if k})


def close_check_runs(
    github: GitHubClient,
    job: Job,
    runs: dict[int, str],
    *,
    why: str = "server restart or crash; its lease ran out",
) -> list[int]:
    """Complete these check runs (id → head sha) of `job` unless GitHub shows them completed
    already; returns the ids dealt with (closed now, already completed, or gone)."""
    done: list[int] = []
    title, summary = abandoned_note(job, why)
    for run_id, head_sha in runs.items():
        try:
            if head_sha and not _still_open(github, job.repository, head_sha, run_id):
                done.append(run_id)
                continue
            github.update_check_run(
                job.repository,
                run_id,
                status="completed",
                conclusion="cancelled",
                title=title,
                summary=summary,
                actions=ACTIONS_DONE if job.state != "queued" else (),
            )
            log.info("job %s: closed check run %s left open by a dead session", job.id, run_id)
            done.append(run_id)
        except GitHubNotFoundError:
            done.append(run_id)
        except GitHubError as error:
            log.warning("job %s: could not close check run %s: %s", job.id, run_id, error)
    return done


def _still_open(github: GitHubClient, repository: str, head_sha: str, run_id: int) -> bool:
    """False only when GitHub shows the run completed. (The listing shows the latest run per
    name on a commit; a run it does not show is closed anyway: the session recorded it as open
    and never as concluded.)"""
    runs = github.list_check_runs(repository, head_sha, CHECK_RUN_NAME)
    listed = [run for run in runs if run.id == run_id]
    return not listed or listed[0].status != "completed"


def close_all_abandoned(
    db: Session, github_for: Callable[[Job], GitHubClient | None], jobs: Iterable[Job] | None = None
) -> int:
    """Close the abandoned check runs of every job that has some; returns how many closed."""
    closed = 0
    for job in list(jobs if jobs is not None else store.with_abandoned_check_runs(db)):
        github = github_for(job)
        if github is None:
            continue
        try:
            done = close_abandoned_check_runs(github, job)
        finally:
            github.close()
        if done:
            store.forget_abandoned(db, job.id, done)
            closed += len(done)
    return closed


def app_github_factory(
    settings: AppSettings, *, seconds_between_writes: float
) -> Callable[[Job], GitHubClient | None]:
    """GitHub clients acting as the App's installation for a job (None without credentials)."""
    from runner.github.auth import GitHubCredentials

    app_id = settings.github_app_id
    pem = settings.private_key_pem()
    base_url = settings.github_api_url
    if app_id is None or not pem:
        return lambda job: None
    app = GitHubCredentials.from_app(app_id, pem, base_url=base_url)

    def github_for(job: Job) -> GitHubClient | None:
        if job.installation_id is not None:
            credentials = app.for_installation(job.installation_id)
        else:
            credentials = app.for_repo(job.repository)
        return GitHubClient(credentials, seconds_between_writes=seconds_between_writes)

    return github_for


def app_github_clients(
    github: AppGitHub, *, seconds_between_writes: float
) -> Callable[[Job], GitHubClient | None]:
    """GitHub clients for a job from the server's own `AppGitHub` (its tokens, already minted)."""

    def github_for(job: Job) -> GitHubClient | None:
        return github.client_for(
            job.repository, job.installation_id, seconds_between_writes=seconds_between_writes
        )

    return github_for
