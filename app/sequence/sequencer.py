"""The sequence of one spec issue: started by `autocoder:auto`, paused by removing it, by
`autocoder:paused` or `/autocoder pause`, resumed by `/autocoder resume`; and, whenever a
feature's job ends (`after_job`, called by the worker's one outcome function), the next
feature's job. All inside the caller's transaction; no GitHub call (the mirror is enough).

A feature job is the feature issue's own job (kind `feature`): its branch, check run and pull
request are the feature's. With `stacked` (the default), each builds on the branch of the
feature before it, carried in the job's payload (`base_branch`) with the spec's number. With
`merged` (`.github/autocoder.yml` `sequence: merged`, reported by each session), a feature that
passes makes the sequence wait until its pull request is merged (`pull_merged`, from the
`pull_request` webhook); the next then starts from the default branch.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import mirror
from app.db.models import AgentStatus, FeatureSequence
from app.queue.models import Job
from app.sequence import relations
from app.sequence.plan import MirrorIssue, Relation, all_passing, next_feature, spec_features
from runner.features.model import PASSING_LABEL
from runner.features.model import Feature as PlannedFeature
from runner.work_order import WorkKind

RUNNING, PAUSED, FINISHED, STOPPED = "running", "paused", "finished", "stopped"
READY = "ready"  # the initializer ran; `autocoder:auto` starts it
WAITING = "waiting"  # `merged`: for the pull request of `current_feature` to be merged
STACKED, MERGED = "stacked", "merged"


def get(db: Session, repository: str, spec: int) -> FeatureSequence | None:
    return db.scalar(
        select(FeatureSequence).where(
            FeatureSequence.repository == repository, FeatureSequence.spec_number == spec
        )
    )


def all_sequences(db: Session) -> list[FeatureSequence]:
    return list(db.scalars(select(FeatureSequence).order_by(FeatureSequence.id)))


def features(db: Session, repository: str, spec: int) -> list[PlannedFeature]:
    """The spec's features as the mirror has them."""
    issues = {
        row.number: MirrorIssue(
            row.number, row.title, row.body, tuple(row.labels), row.state, row.html_url or ""
        )
        for row in mirror.features_of(db, repository)
    }
    graph = [Relation(r.kind, r.number, r.other) for r in relations.of(db, repository)]
    return spec_features(spec, issues, graph)


def start(
    db: Session, repository: str, spec: int, installation_id: int | None, actor: str | None
) -> str:
    row = get(db, repository, spec)
    if row is None:
        row = FeatureSequence(
            repository=repository,
            spec_number=spec,
            state=RUNNING,
            mode="stacked",
            attempted=[],
            passing_notified=0,
        )
        db.add(row)
    row.installation_id = installation_id or row.installation_id
    row.actor = actor or row.actor
    if row.state == WAITING:  # still waiting for a merge: `pull_merged` goes on
        return row.note or f"the sequence of #{spec} waits for a merge"
    row.state = RUNNING
    row.note = None
    if row.current_job_id is None:  # nothing runs (it waited for a merge, was paused)
        row.current_feature = None
    if row.base_branch is None and row.mode == STACKED:  # the initializer's skeleton
        last = mirror.latest_session(db, repository, spec)
        row.base_branch = last.branch if last is not None else None
    db.flush()
    return advance(db, row)


def pause(db: Session, repository: str, spec: int, reason: str) -> str:
    row = get(db, repository, spec)
    if row is None or row.state not in (RUNNING, WAITING):
        return f"#{spec} has no running sequence"
    row.state = PAUSED
    row.note = reason
    running = f" after #{row.current_feature}" if row.current_feature else ""
    return f"the sequence of #{spec} stops{running}: {reason}"


def resume(
    db: Session, repository: str, spec: int, installation_id: int | None, actor: str | None
) -> str:
    """Go on; the features tried and not passing are tried again."""
    row = get(db, repository, spec)
    if row is not None:
        current = features(db, repository, spec)
        passing = {f.number for f in current if f.passing}
        row.attempted = [n for n in row.attempted if n in passing or n == row.current_feature]
    return start(db, repository, spec, installation_id, actor)


def advance(db: Session, row: FeatureSequence) -> str:
    """Queue the next feature's job if the sequence runs and nothing runs now; stop, saying
    why, when no feature is left."""
    if row.state != RUNNING:
        return f"the sequence of #{row.spec_number} is {row.state}"
    if row.current_job_id is not None:
        return f"#{row.current_feature} is running"
    from app.queue.store import active_job, enqueue

    if active_job(db, row.repository, row.spec_number) is not None:
        return f"waiting for the initializer of #{row.spec_number}"  # it advances at its end
    planned = features(db, row.repository, row.spec_number)
    chosen = next_feature(planned, row.attempted)
    if chosen is None:
        if all_passing(planned):
            row.state, row.note = FINISHED, f"every feature passes ({len(planned)})"
        elif not planned:
            return f"#{row.spec_number} has no features yet; waiting for the initializer"
        else:
            row.state = STOPPED
            row.note = "no feature is ready: " + _why_none(planned, row.attempted)
        return f"the sequence of #{row.spec_number} stopped: {row.note}"

    job = enqueue(
        db,
        kind=WorkKind.FEATURE.value,
        repository=row.repository,
        issue_number=chosen.number,
        installation_id=row.installation_id,
        actor=row.actor,
        payload={
            "spec_issue": row.spec_number,
            "base_branch": row.base_branch if row.mode == STACKED else None,
            "reason": f"feature #{chosen.number} of #{row.spec_number}",
        },
        delivery_id=None,
    )
    if job is None:
        job = active_job(db, row.repository, chosen.number)
    row.current_feature = chosen.number
    row.current_job_id = job.id if job is not None else None
    row.attempted = [*row.attempted, chosen.number]
    mirror.set_agent_status(db, row.repository, chosen.number, AgentStatus.QUEUED)
    return f"queued feature #{chosen.number} of #{row.spec_number}"


def _why_none(planned: list[PlannedFeature], attempted: list[int]) -> str:
    tried = [f"#{f.number}" for f in planned if f.open and not f.passing and f.number in attempted]
    waiting = [f"#{f.number}" for f in planned if f.open and not f.passing and not f.ready]
    parts = []
    if tried:
        parts.append(f"not passing after their session: {', '.join(tried)}")
    if waiting:
        parts.append(f"blocked: {', '.join(waiting)}")
    return "; ".join(parts) or "none left"


def after_job(
    db: Session,
    job: Job,
    state: str,
    *,
    passing: list[int],
    branch: str | None,
    mode: str | None = None,
) -> str | None:
    """A job ended (`state` terminal): the features its session labelled passing go into the
    mirror at once (the labels' webhooks may come later), and the sequence moves on — or, with
    `merged`, waits for the passing feature's pull request to be merged. `mode` is the
    repository's `sequence:` as the session read it (None: not known)."""
    if state in ("queued", "running"):
        return None
    for number in passing:
        row = mirror.ensure_feature(db, job.repository, number)
        if PASSING_LABEL not in row.labels:
            row.labels = [*row.labels, PASSING_LABEL]
    if job.kind == WorkKind.INITIALIZE.value:
        sequence = get(db, job.repository, job.issue_number)
        if sequence is None:  # the features exist: the progress shows, `autocoder:auto` starts
            sequence = FeatureSequence(
                repository=job.repository,
                spec_number=job.issue_number,
                state=READY,
                note=f"label #{job.issue_number} autocoder:auto to start",
                mode=mode if mode in (STACKED, MERGED) else STACKED,
                attempted=[],
                passing_notified=0,
                installation_id=job.installation_id,
                actor=job.actor,
            )
            db.add(sequence)
            db.flush()
        elif mode in (STACKED, MERGED):
            sequence.mode = mode
        if branch and sequence.base_branch is None and sequence.mode == STACKED:
            sequence.base_branch = branch
        return advance(db, sequence)
    sequence = db.scalar(
        select(FeatureSequence).where(
            FeatureSequence.repository == job.repository,
            FeatureSequence.current_job_id == job.id,
        )
    )
    if sequence is None:
        return None
    if mode in (STACKED, MERGED):
        sequence.mode = mode
    if branch and sequence.mode == STACKED and job.issue_number in passing:
        sequence.base_branch = branch  # the next builds on a feature that passes
    sequence.current_job_id = None
    if sequence.mode == MERGED and job.issue_number in passing and sequence.state == RUNNING:
        sequence.base_branch = None
        sequence.state = WAITING
        sequence.note = f"waiting for the pull request of #{job.issue_number} to be merged"
        return sequence.note  # `current_feature` stays: the one whose merge it waits for
    sequence.current_feature = None
    return advance(db, sequence)


def pull_merged(db: Session, repository: str, number: int) -> str:
    """autocoder's pull request for feature `number` was merged: a sequence waiting for it goes
    on (the next feature starts from the default branch), and a stacked sequence about to
    build on that feature's branch builds on the default branch instead."""
    said = []
    merged_branch = None
    last = mirror.latest_session(db, repository, number)
    if last is not None:
        merged_branch = last.branch
    for row in db.scalars(select(FeatureSequence).where(FeatureSequence.repository == repository)):
        if row.state == WAITING and row.current_feature == number:
            row.state, row.note, row.current_feature = RUNNING, None, None
            said.append(advance(db, row))
        elif merged_branch and row.base_branch == merged_branch:
            row.base_branch = None
            said.append(f"the next feature of #{row.spec_number} starts from the default branch")
    return "; ".join(said) or f"#{number}'s pull request was merged"
