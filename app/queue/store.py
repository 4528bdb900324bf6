"""Queue operations on the `jobs` table. Same code on SQLite (embedded) and PostgreSQL (shared
by replicas).

Who commits: `enqueue` and `cancel_active` run inside the caller's transaction (the webhook
route stores the delivery and the job together, then commits before it answers 202). Everything
a worker does (`claim_next`, `heartbeat`, `finish`, `fail`, `release`, `requeue_expired`, ...)
is one short transaction of its own and commits.

Invariants:

- one active session per issue: a `start`/`retry` for an issue with a queued or running job is
  dropped; a `follow_up` is queued behind it (the claim takes an issue's jobs in order and never
  two at once);
- a delivery makes at most one job (`delivery_id` is unique);
- only the lease owner can heartbeat or end a running job; a job whose lease ran out is taken
  over (`requeue_expired`) and its owner, on its next heartbeat, learns it lost it.

Atomicity: on SQLite, writers are serialised by the database lock; `enqueue` takes it first
(an `UPDATE` that matches nothing is enough) so that its check-then-insert cannot interleave, and
`claim_next` ranks and takes its job inside that lock. On PostgreSQL, `enqueue` holds a
transaction-scoped advisory lock for the issue; `claim_next` picks its job with
`FOR UPDATE SKIP LOCKED` (claimers side by side skip each other's rows) and, when a
per-installation or total limit is set, first takes an advisory lock for claims (so the counts
it checks cannot change under it).

Fair share: the claim tries runnable jobs round-robin between installations
(`app.queue.fair_share`), so one busy installation cannot starve the others.

Length: over 400 lines because every state transition of a job lives here, each guarded the same
way (lease owner, state); splitting them would scatter the invariants above.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from app.queue.fair_share import Runnable, fair_order
from app.queue.models import (
    ACTIVE_STATES,
    EXCLUSIVE_KINDS,
    KINDS,
    MAX_INTERRUPTIONS,
    TERMINAL_STATES,
    Job,
    utcnow,
)

DEFAULT_MAX_ATTEMPTS = 3
_CLAIM_LOCK_KEY = 0x6A6F6273  # "jobs": the PostgreSQL advisory lock serialising claims


class QueueError(ValueError):
    """A queue operation was called with something it cannot store (the message says what)."""


@dataclass(frozen=True)
class TakenOver:
    """A running job whose lease ran out, and what became of it."""

    job_id: int
    repository: str
    issue_number: int
    previous_owner: str | None
    state: str  # "queued" (will run again), "failed" or "cancelled"


# -- enqueue, cancel, look up (inside the caller's transaction) ---------------------------------


def enqueue(
    db: Session,
    *,
    kind: str,
    repository: str,
    issue_number: int,
    installation_id: int | None,
    actor: str | None,
    delivery_id: str | None,
    pull_number: int | None = None,
    review_id: int | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job | None:
    """Store a job; None when it is dropped: a delivery already enqueued, or a `start`/`retry`
    for an issue that has a queued or running job. A `follow_up` is always stored (it runs after
    the issue's earlier jobs). The work order's fields are columns (`kind`, `actor`,
    `pull_number`, `review_id`); `payload` holds only extras that have no column yet (the
    decision itself is not stored: old rows may still carry it, nothing reads it).
    Does not commit."""
    if kind not in KINDS:
        raise QueueError(f"job kind must be one of {KINDS}, got {kind!r}")
    if max_attempts < 1:
        raise QueueError("max_attempts must be at least 1")
    _lock_issue(db, repository, issue_number)
    if delivery_id is not None:
        seen = db.scalar(select(Job.id).where(Job.delivery_id == delivery_id).limit(1))
        if seen is not None:
            return None
    if kind in EXCLUSIVE_KINDS and active_job(db, repository, issue_number) is not None:
        return None
    now = utcnow()
    job = Job(
        kind=kind,
        repository=repository,
        issue_number=issue_number,
        installation_id=installation_id,
        actor=actor,
        payload=dict(payload or {}),
        pull_number=pull_number,
        review_id=review_id,
        interruptions=0,
        state="queued",
        attempts=0,
        max_attempts=max_attempts,
        cancel_requested=False,
        delivery_id=delivery_id,
        abandoned_check_runs=[],
        created_at=now,
        updated_at=now,
    )
    db.add(job)
    db.flush()
    return job


def active_job(db: Session, repository: str, issue_number: int) -> Job | None:
    """The issue's running job, else its oldest queued one, else None."""
    jobs = db.scalars(
        select(Job)
        .where(
            Job.repository == repository,
            Job.issue_number == issue_number,
            Job.state.in_(ACTIVE_STATES),
        )
        .order_by(Job.id)
    ).all()
    running = [job for job in jobs if job.state == "running"]
    ordered = running or list(jobs)
    return ordered[0] if ordered else None


def cancel_active(db: Session, repository: str, issue_number: int, reason: str) -> int:
    """Cancel the issue's jobs: queued ones end `cancelled` now; running ones get
    `cancel_requested` (their session stops, concludes its check run and ends the job).
    Returns how many jobs were affected. Does not commit."""
    _lock_issue(db, repository, issue_number)
    now = utcnow()
    issue = and_(Job.repository == repository, Job.issue_number == issue_number)
    queued = db.execute(
        update(Job)
        .where(issue, Job.state == "queued")
        .values(state="cancelled", error=reason, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    running = db.execute(
        update(Job)
        .where(issue, Job.state == "running", Job.cancel_requested.is_(False))
        .values(cancel_requested=True, error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()
    return int(queued.rowcount or 0) + int(running.rowcount or 0)  # type: ignore[attr-defined]


def get_job(db: Session, job_id: int) -> Job | None:
    return db.get(Job, job_id, populate_existing=True)


def jobs_for_issue(db: Session, repository: str, issue_number: int) -> Sequence[Job]:
    return db.scalars(
        select(Job)
        .where(Job.repository == repository, Job.issue_number == issue_number)
        .order_by(Job.id)
    ).all()


def count_by_state(db: Session) -> dict[str, int]:
    rows = db.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {str(state): int(count) for state, count in rows}


# -- worker side (each call commits) ------------------------------------------------------------


def claim_next(
    db: Session,
    worker_id: str,
    *,
    lease_s: float,
    max_per_installation: int | None,
    max_total: int | None = None,
    max_attempts: int | None = None,
    now: datetime | None = None,
) -> Job | None:
    """Atomically take the next runnable job: `queued`, due (`not_before` passed), the oldest
    active job of its issue with no job of the issue running, and (if limited) fewer than
    `max_per_installation` running for its installation and `max_total` running in all. The job
    becomes `running` with a lease to `worker_id` for `lease_s` seconds, and its attempt count
    goes up. `max_attempts` (the server's `AUTOCODER_MAX_ATTEMPTS`), when given, becomes the
    job's budget of attempts at its first claim. Commits; None when there is nothing to take."""
    if max_attempts is not None and max_attempts < 1:
        raise QueueError("max_attempts must be at least 1")
    now = now or utcnow()
    values: dict[str, Any] = {
        "state": "running",
        "lease_owner": worker_id,
        "lease_expires_at": now + timedelta(seconds=lease_s),
        "heartbeat_at": now,
        "attempts": Job.attempts + 1,
        "check_run_id": None,
        "check_run_sha": None,
        "updated_at": now,
    }
    if max_attempts is not None:
        values["max_attempts"] = case((Job.attempts == 0, max_attempts), else_=Job.max_attempts)
    order = _fair_candidates(db, now, max_per_installation, max_total)
    if not order:
        db.commit()
        return None
    rank = case({job_id: position for position, job_id in enumerate(order)}, value=Job.id)
    pick = select(Job.id).where(Job.id.in_(order), Job.state == "queued").order_by(rank).limit(1)
    if db.get_bind().dialect.name == "postgresql":
        # Another claimer holding the row skips it and takes the next one in its order.
        pick = pick.with_for_update(skip_locked=True)
    job_id = db.scalar(pick)
    claimed = None
    if job_id is not None:
        claimed = db.scalar(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(**values)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
    db.commit()
    return get_job(db, claimed) if claimed is not None else None


# Runnable jobs ranked per claim, for each installation: its oldest few are enough to step past
# rows other claimers hold, and a newcomer's job is ranked however long a busy one's queue is.
_CLAIM_WINDOW = 8


def _fair_candidates(
    db: Session, now: datetime, max_per_installation: int | None, max_total: int | None
) -> list[int]:
    """The runnable jobs' ids in fair-share order (`app.queue.fair_share`), within the limits.

    On SQLite the transaction already holds the write lock (`BEGIN IMMEDIATE`). On PostgreSQL,
    with a limit, claims are serialised by an advisory lock so that the running counts cannot
    change under the check; without one, claimers run side by side and `FOR UPDATE SKIP LOCKED`
    keeps them off each other's rows."""
    limited = max_per_installation is not None or max_total is not None
    if limited and db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})
    running: dict[int | None, int] = {
        installation: int(count)
        for installation, count in db.execute(
            select(Job.installation_id, func.count())
            .where(Job.state == "running")
            .group_by(Job.installation_id)
        ).all()
    }
    if max_total is not None and sum(running.values()) >= max_total:
        return []
    rows = db.execute(_claimable(now, _CLAIM_WINDOW)).all()
    runnable = [Runnable(int(job_id), installation) for job_id, installation in rows]
    return fair_order(runnable, running, max_per_installation=max_per_installation)


def _claimable(now: datetime, per_installation: int) -> Any:
    """(job id, installation id) of queued jobs that are due and the oldest active job of their
    issue, none of it running: each installation's oldest `per_installation`, oldest first."""
    job = aliased(Job, name="candidate")
    other = aliased(Job, name="other")
    same_issue = and_(other.repository == job.repository, other.issue_number == job.issue_number)
    depth = func.row_number().over(partition_by=job.installation_id, order_by=job.id)
    runnable = (
        select(job.id.label("id"), job.installation_id.label("installation_id"), depth.label("n"))
        .where(
            job.state == "queued",
            or_(job.not_before.is_(None), job.not_before <= now),
            ~exists().where(same_issue, other.state == "running"),
            ~exists().where(same_issue, other.state == "queued", other.id < job.id),
        )
        .subquery("runnable")
    )
    return (
        select(runnable.c.id, runnable.c.installation_id)
        .where(runnable.c.n <= per_installation)
        .order_by(runnable.c.id)
    )


def heartbeat(
    db: Session, job_id: int, worker_id: str, *, lease_s: float, now: datetime | None = None
) -> bool:
    """Renew the lease; False when `worker_id` no longer holds it (taken over or ended):
    the caller must stop the session. Commits."""
    now = now or utcnow()
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker_id, Job.state == "running")
        .values(lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def finish(
    db: Session, job_id: int, worker_id: str, *, state: str, error: str | None = None
) -> None:
    """End a running job held by `worker_id` in a terminal `state`. Commits. A worker that lost
    the lease changes nothing (see `finished_by`)."""
    finished_by(db, job_id, worker_id, state=state, error=error)


# The ends of an attempt (`finished_by`, `fail`, `release`, `pause`) each change the job only
# while `worker_id` still holds it running, and say so. They commit unless `commit=False`: the
# worker records the job's state and the session row in one transaction (app/worker/outcome.py).


def finished_by(
    db: Session,
    job_id: int,
    worker_id: str,
    *,
    state: str,
    error: str | None = None,
    commit: bool = True,
) -> bool:
    """`finish`, saying whether the job was still ours to end."""
    if state not in TERMINAL_STATES:
        raise QueueError(f"a job ends in one of {TERMINAL_STATES}, got {state!r}")
    now = utcnow()
    values = {"error": error, "finished_at": now, "updated_at": now}
    return _leave_running(db, job_id, worker_id, state=state, commit=commit, **values)


def retry_delay(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Exponential backoff after failed attempt number `attempt` (1, 2, ...)."""
    return float(min(cap_s, base_s * 2 ** max(attempt - 1, 0)))


def fail(
    db: Session,
    job_id: int,
    worker_id: str,
    *,
    error: str,
    transient: bool,
    backoff_base_s: float = 30.0,
    backoff_cap_s: float = 900.0,
    now: datetime | None = None,
    commit: bool = True,
) -> str | None:
    """A running attempt failed. Transient, with attempts left: back to `queued`, due after a
    backoff. Otherwise `failed`. Returns the new state (None: the job was not ours)."""
    now = now or utcnow()
    job, early = _ours_to_end(db, job_id, worker_id, commit=commit)
    if job is None:
        return early
    if not transient or job.attempts >= job.max_attempts:
        note = error if not transient else f"{error} (gave up after {job.attempts} attempts)"
        ended = finished_by(db, job_id, worker_id, state="failed", error=note, commit=commit)
        return "failed" if ended else None
    delay = retry_delay(job.attempts, base_s=backoff_base_s, cap_s=backoff_cap_s)
    not_before = now + timedelta(seconds=delay)
    queued = _leave_running(
        db,
        job_id,
        worker_id,
        state="queued",
        commit=commit,
        error=error,
        not_before=not_before,
        updated_at=now,
    )
    return "queued" if queued else None


def release(
    db: Session, job_id: int, worker_id: str, *, reason: str, commit: bool = True
) -> str | None:
    """The attempt was interrupted by the infrastructure (the server stopping, the session
    killed from outside): back to the queue at once, without using up an attempt — unless it
    was interrupted `MAX_INTERRUPTIONS` times already, then `failed`. Returns the new state
    (None: the job was not ours)."""
    job, early = _ours_to_end(db, job_id, worker_id, commit=commit)
    if job is None:
        return early
    interruptions = job.interruptions + 1
    if interruptions > MAX_INTERRUPTIONS:
        note = f"{reason} (interrupted {interruptions} times; giving up)"
        ended = finished_by(db, job_id, worker_id, state="failed", error=note, commit=commit)
        return "failed" if ended else None
    return _requeue_unspent(
        db,
        job,
        worker_id,
        reason=reason,
        not_before=None,
        commit=commit,
        interruptions=interruptions,
    )


def pause(
    db: Session,
    job_id: int,
    worker_id: str,
    *,
    until: datetime,
    reason: str,
    commit: bool = True,
) -> str | None:
    """The model's quota ran out (issue #14): back to the queue, due at `until`, without
    using up an attempt. Returns the new state (None: the job was not ours)."""
    job, early = _ours_to_end(db, job_id, worker_id, commit=commit)
    if job is None:
        return early
    return _requeue_unspent(db, job, worker_id, reason=reason, not_before=until, commit=commit)


def _ours_to_end(
    db: Session, job_id: int, worker_id: str, *, commit: bool
) -> tuple[Job | None, str | None]:
    """The running job `worker_id` holds, to end as the caller means to; or (None, the state
    it ended in) when it is not ours (None) or a cancel was asked for (`cancelled`)."""
    job = get_job(db, job_id)
    if job is None or job.state != "running" or job.lease_owner != worker_id:
        if commit:
            db.commit()
        return None, None
    if job.cancel_requested:
        ended = finished_by(db, job_id, worker_id, state="cancelled", commit=commit)
        return None, "cancelled" if ended else None
    return job, None


def _requeue_unspent(
    db: Session,
    job: Job,
    worker_id: str,
    *,
    reason: str,
    not_before: datetime | None,
    commit: bool,
    **values: Any,
) -> str | None:
    """Back to the queue (due at `not_before`, or at once) giving back the attempt the claim
    counted, if `worker_id` still owns the running job."""
    attempts = max(job.attempts - 1, 0)
    queued = _leave_running(
        db,
        job.id,
        worker_id,
        state="queued",
        commit=commit,
        error=reason,
        not_before=not_before,
        attempts=attempts,
        **values,
    )
    return "queued" if queued else None


def _leave_running(
    db: Session, job_id: int, worker_id: str, *, state: str, commit: bool, **values: Any
) -> bool:
    """The running job `worker_id` holds moves to `state` with `values`, its lease dropped;
    False when it was not the holder's to move."""
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker_id, Job.state == "running")
        .values(
            **{
                "state": state,
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": utcnow(),
                **values,
            }
        )
        .execution_options(synchronize_session=False)
    )
    if commit:
        db.commit()
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def add_tell(db: Session, job: Job, message: dict[str, Any]) -> None:
    """A maintainer's message for the job's running session (`/autocoder tell`): kept on the
    job until its worker hands it to the session (at its next heartbeat). Does not commit."""
    told = [m for m in (job.payload or {}).get("tell", []) if isinstance(m, dict)]
    if any(m.get("comment_id") == message.get("comment_id") for m in told):
        return
    job.payload = {**(job.payload or {}), "tell": [*told, message]}


def requeue_expired(db: Session, now: datetime | None = None) -> int:
    """Take over running jobs whose lease ran out (their worker died). Returns how many."""
    return len(take_over_expired(db, now))


def take_over_expired(db: Session, now: datetime | None = None) -> list[TakenOver]:
    """Running jobs whose lease ran out (their server died) go back to `queued` (due now),
    without using up the attempt: the infrastructure failed, not the session — or end
    `cancelled` if a cancel was asked for, or `failed` after `MAX_INTERRUPTIONS`. The check run
    the dead attempt had open is moved to `abandoned_check_runs`, for `close_abandoned` to
    conclude. Commits."""
    now = now or utcnow()
    expired = db.scalars(
        select(Job).where(Job.state == "running", Job.lease_expires_at < now).order_by(Job.id)
    ).all()
    taken: list[TakenOver] = []
    values: dict[str, Any]
    for job in expired:
        owner = job.lease_owner
        note = f"worker {owner} stopped renewing its lease (attempt {job.attempts}); taken over"
        interruptions = job.interruptions + 1
        if job.cancel_requested:
            state, values = "cancelled", {"finished_at": now}
        elif interruptions > MAX_INTERRUPTIONS:
            state, values = "failed", {"finished_at": now}
            note += f"; interrupted {interruptions} times, giving up"
        else:
            state = "queued"
            values = {"not_before": None, "attempts": max(job.attempts - 1, 0)}
        values["interruptions"] = interruptions
        abandoned = list(job.abandoned_check_runs or [])
        if job.check_run_id is not None:
            abandoned.append({"id": job.check_run_id, "head_sha": job.check_run_sha or ""})
        result = db.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.state == "running",
                Job.lease_owner == owner,
                Job.lease_expires_at < now,
            )
            .values(
                state=state,
                error=note,
                lease_owner=None,
                lease_expires_at=None,
                check_run_id=None,
                check_run_sha=None,
                abandoned_check_runs=abandoned,
                updated_at=now,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        if int(result.rowcount or 0) == 1:  # type: ignore[attr-defined]
            taken.append(TakenOver(job.id, job.repository, job.issue_number, owner, state))
    db.commit()
    db.expire_all()
    return taken


# -- what the session records while it runs ----------------------------------------------------


def record_session(db: Session, job_id: int, worker_id: str, session_id: str) -> bool:
    return _set_if_owner(db, job_id, worker_id, session_id=session_id)


def record_check_run(
    db: Session, job_id: int, worker_id: str, check_run_id: int, head_sha: str
) -> bool:
    """The check run the running attempt has open now (the newest one it created)."""
    return _set_if_owner(db, job_id, worker_id, check_run_id=check_run_id, check_run_sha=head_sha)


def clear_check_run(db: Session, job_id: int, worker_id: str, check_run_id: int) -> bool:
    """The running attempt concluded this check run itself: nothing to close if it dies."""
    result = db.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.lease_owner == worker_id,
            Job.state == "running",
            Job.check_run_id == check_run_id,
        )
        .values(check_run_id=None, check_run_sha=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def with_abandoned_check_runs(db: Session) -> Sequence[Job]:
    """Jobs with check runs left open by a dead attempt (to be closed by a worker)."""
    not_empty = func.length(cast(Job.abandoned_check_runs, String)) > 2  # more than "[]"
    jobs = db.scalars(select(Job).where(not_empty).order_by(Job.id)).all()
    return [job for job in jobs if job.abandoned_check_runs]


def forget_abandoned(db: Session, job_id: int, check_run_ids: Sequence[int]) -> None:
    """These abandoned check runs are closed now. Commits."""
    job = get_job(db, job_id)
    if job is not None:
        done = set(check_run_ids)
        job.abandoned_check_runs = [r for r in job.abandoned_check_runs if r.get("id") not in done]
    db.commit()


def _set_if_owner(db: Session, job_id: int, worker_id: str, **values: Any) -> bool:
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker_id, Job.state == "running")
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


# -- locking ------------------------------------------------------------------------------------


def _lock_issue(db: Session, repository: str, issue_number: int) -> None:
    """Serialise check-then-write on one issue's jobs for the rest of the transaction."""
    dialect = db.get_bind().dialect.name
    if dialect == "sqlite":
        # Any write statement takes SQLite's write lock, held until commit.
        db.execute(text("UPDATE jobs SET id = id WHERE 0"))
    elif dialect == "postgresql":
        key = zlib.crc32(f"{repository}#{issue_number}".encode()) - 2**31
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


__all__ = [
    "TERMINAL_STATES",
    "QueueError",
    "TakenOver",
    "active_job",
    "add_tell",
    "cancel_active",
    "claim_next",
    "clear_check_run",
    "count_by_state",
    "enqueue",
    "fail",
    "finish",
    "finished_by",
    "forget_abandoned",
    "get_job",
    "heartbeat",
    "jobs_for_issue",
    "pause",
    "record_check_run",
    "record_session",
    "release",
    "requeue_expired",
    "retry_delay",
    "take_over_expired",
    "with_abandoned_check_runs",
]
