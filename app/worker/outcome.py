"""How an attempt ended, and the one function that records it: the job's state, the session
row, and the feature's `agent_status` (through `app.status`, its one writer).

`AttemptEnd` is what the worker knows when the session process is gone: the session's last
event (`Result` or `Failure`), or none (it died), and why it stopped if the worker stopped it.
`classify` turns that into an `Outcome` (pure); `record_outcome` writes it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import SessionRecord, utcnow
from app.queue import store
from app.queue.models import Job
from app.status import Change, record_status
from runner.events import Failure, Result
from runner.work_order import WorkKind


class Stopped(enum.StrEnum):
    """Why the worker stopped the session (if it did)."""

    NOT = "not"
    CANCEL = "cancel"  # a cancel was requested and not honoured in time
    SHUTDOWN = "shutdown"  # the server is stopping
    LEASE_LOST = "lease_lost"  # another worker owns the job now


class Verdict(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # for good
    RETRY = "retry"  # a transient error inside the session: uses up an attempt
    INTERRUPTED = "interrupted"  # the infrastructure's fault: does not use up an attempt
    CANCELLED = "cancelled"
    NOT_OURS = "not_ours"  # the lease was lost: record nothing
    PAUSED = "paused"  # the model's quota ran out: queued again for then, no attempt used


@dataclass(frozen=True)
class AttemptEnd:
    last: Result | Failure | None
    exit_code: int
    stopped: Stopped = Stopped.NOT
    cancel_requested: bool = False


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    error: str | None = None


def classify(end: AttemptEnd) -> Outcome:
    """What the attempt's end means for the job."""
    if end.stopped is Stopped.LEASE_LOST:
        return Outcome(Verdict.NOT_OURS)
    last = end.last
    if isinstance(last, Result):
        if last.paused_until is not None and not end.cancel_requested:
            return Outcome(Verdict.PAUSED, last.error or "paused (model quota)")
        if last.conclusion in ("success", "neutral"):
            return Outcome(Verdict.SUCCEEDED)
        if last.conclusion == "cancelled":
            if end.cancel_requested:
                return Outcome(Verdict.CANCELLED, last.error)
            return Outcome(Verdict.INTERRUPTED, _interrupted(end))
        error = f"session concluded {last.conclusion}" + (f": {last.error}" if last.error else "")
        return Outcome(Verdict.FAILED, error)
    if end.cancel_requested:
        return Outcome(Verdict.CANCELLED)
    if isinstance(last, Failure):
        if end.stopped is not Stopped.NOT:
            return Outcome(Verdict.INTERRUPTED, f"{_interrupted(end)}: {last.error}")
        return Outcome(Verdict.RETRY if last.transient else Verdict.FAILED, last.error)
    if end.stopped is not Stopped.NOT or end.exit_code < 0:
        return Outcome(Verdict.INTERRUPTED, _interrupted(end))
    return Outcome(
        Verdict.RETRY, f"the session process exited with status {end.exit_code} without an outcome"
    )


def _interrupted(end: AttemptEnd) -> str:
    if end.stopped is Stopped.SHUTDOWN:
        return "interrupted: the server stopped"
    if end.exit_code < 0:
        return f"interrupted: the session process was killed (signal {-end.exit_code})"
    return "interrupted: the session stopped before it concluded"


@dataclass(frozen=True)
class Backoff:
    base_s: float = 30.0
    cap_s: float = 900.0


def record_outcome(
    db: Session,
    job: Job,
    worker_id: str,
    end: AttemptEnd,
    *,
    session_row_id: int | None,
    log: str,
    backoff: Backoff,
) -> str | None:
    """Record how the attempt ended: the job (finished, retried, given back), the session row,
    and the feature's status, in one transaction (a crash between them would leave a finished
    job with its session row open, or a closed row for a job still running). Returns the job's
    new state (None: not ours). Commits."""
    outcome = classify(end)
    verdict = outcome.verdict
    if verdict is Verdict.NOT_OURS:
        return None
    if verdict is Verdict.SUCCEEDED:
        ended = store.finished_by(db, job.id, worker_id, state="succeeded", commit=False)
        state = "succeeded" if ended else None
    elif verdict is Verdict.CANCELLED:
        ended = store.finished_by(
            db, job.id, worker_id, state="cancelled", error=job.error, commit=False
        )
        state = "cancelled" if ended else None
    elif verdict is Verdict.PAUSED and isinstance(end.last, Result) and end.last.paused_until:
        until = end.last.paused_until
        reason = f"paused until {until:%Y-%m-%d %H:%M:%S} UTC (model quota): {outcome.error}"
        state = store.pause(db, job.id, worker_id, until=until, reason=reason, commit=False)
    elif verdict is Verdict.INTERRUPTED:
        reason = outcome.error or "interrupted"
        state = store.release(db, job.id, worker_id, reason=reason, commit=False)
    else:
        state = store.fail(
            db,
            job.id,
            worker_id,
            error=outcome.error or "the session failed",
            transient=verdict is Verdict.RETRY,
            backoff_base_s=backoff.base_s,
            backoff_cap_s=backoff.cap_s,
            commit=False,
        )
    if state is None:
        db.commit()
        return None
    last = end.last
    pull_url = last.pull_request_url if isinstance(last, Result) else None
    _close_session_row(db, session_row_id, last, outcome, log)
    record_status(
        db, job.repository, job.issue_number, Change.JOB, job_state=state, pull_request_url=pull_url
    )
    if job.kind in (WorkKind.INITIALIZE.value, WorkKind.FEATURE.value):  # issue #13
        from app.sequence import sequencer

        done = last if isinstance(last, Result) else None
        sequencer.after_job(
            db,
            job,
            state,
            passing=list(done.features_passing) if done else [],
            branch=done.branch if done else None,
            mode=done.sequence if done else None,
        )
    db.commit()
    return state


def _close_session_row(
    db: Session,
    row_id: int | None,
    last: Result | Failure | None,
    outcome: Outcome,
    log: str,
) -> None:
    row = db.get(SessionRecord, row_id) if row_id is not None else None
    if row is None:
        return
    row.finished_at = utcnow()
    row.log = log[-200_000:]
    if isinstance(last, Result):
        row.conclusion = last.conclusion
        row.error = last.error
        row.branch = last.branch or row.branch
        row.pull_request_number = last.pull_number or row.pull_request_number
        row.pull_request_url = last.pull_request_url or row.pull_request_url
        row.check_run_url = last.check_run_url or row.check_run_url
        row.turns = last.turns
        row.input_tokens = last.input_tokens
        row.output_tokens = last.output_tokens
        row.cost_usd = last.cost_usd
    else:
        row.conclusion = "cancelled" if outcome.verdict is Verdict.CANCELLED else "failure"
        row.error = outcome.error


def feature_status_after_takeover(db: Session, job: Job) -> None:
    """The janitor took a dead worker's job over: the feature's status follows its new state.
    Does not commit."""
    record_status(db, job.repository, job.issue_number, Change.JOB, job_state=job.state)
