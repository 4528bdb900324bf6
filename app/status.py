"""The one writer of an issue's `Feature.agent_status` (the board's column, `autocoder_features`).

Everything that changes it says what happened (`Change`): a job was stored, its session
started, its jobs were cancelled, the issue was closed, a job reached a state (the worker's
outcome, the janitor's takeover), or a caller sets a status outright (the mirror). The pure
`status_after` decides; `record_status` writes, inside the caller's transaction.
"""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from app.db.models import AgentStatus, Feature


class Change(enum.StrEnum):
    QUEUED = "queued"  # a job was stored for the issue
    STARTED = "started"  # a session for it started running
    CANCELLED = "cancelled"  # its jobs were cancelled (`count` of them)
    CLOSED = "closed"  # the issue was closed (`count` jobs cancelled with it)
    JOB = "job"  # its job is now in `job_state` (its session's pull request, if any)
    SET = "set"  # `to`, as is


def status_for_job(job_state: str, pull_request_url: str | None) -> AgentStatus:
    """The feature's status once its job is in `job_state`."""
    if job_state == "running":
        return AgentStatus.RUNNING
    if job_state == "queued":
        return AgentStatus.QUEUED
    if job_state == "succeeded":
        return AgentStatus.PR_OPEN if pull_request_url else AgentStatus.DONE
    if job_state == "failed":
        return AgentStatus.FAILED
    return AgentStatus.PENDING  # cancelled, superseded


def status_after(
    current: AgentStatus,
    change: Change,
    *,
    count: int = 0,
    job_state: str | None = None,
    pull_request_url: str | None = None,
    to: AgentStatus | None = None,
) -> AgentStatus:
    """The status after `change` (pure)."""
    if change is Change.QUEUED:
        return current if current is AgentStatus.RUNNING else AgentStatus.QUEUED
    if change is Change.STARTED:
        return AgentStatus.RUNNING
    if change is Change.CANCELLED:
        return AgentStatus.PENDING if count or current is AgentStatus.QUEUED else current
    if change is Change.CLOSED:
        if current is AgentStatus.PR_OPEN:
            return AgentStatus.DONE
        return AgentStatus.PENDING if count else current
    if change is Change.JOB:
        if job_state is None:
            raise ValueError("Change.JOB needs the job's state")
        return status_for_job(job_state, pull_request_url)
    if to is None:
        raise ValueError("Change.SET needs the status to set")
    return to


def record_status(
    db: Session,
    repository: str,
    number: int,
    change: Change,
    *,
    count: int = 0,
    job_state: str | None = None,
    pull_request_url: str | None = None,
    to: AgentStatus | str | None = None,
    create: bool = True,
) -> Feature | None:
    """Apply `change` to the issue's feature (made when missing, unless `create` is False).
    Does not commit."""
    from app import mirror

    feature = (
        mirror.ensure_feature(db, repository, number)
        if create
        else mirror.get_feature(db, repository, number)
    )
    if feature is None:
        return None
    feature.agent_status = status_after(
        AgentStatus(feature.agent_status),
        change,
        count=count,
        job_state=job_state,
        pull_request_url=pull_request_url,
        to=AgentStatus(to) if to is not None else None,
    ).value
    return feature
