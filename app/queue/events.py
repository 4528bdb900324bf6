"""The `session_events` table: each attempt's event stream, in order (`seq`), as the worker
received it from its session process (`runner.events`). The dashboard's live log reads it;
`open_check_runs` tells which check runs an attempt left `in_progress`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import SessionEventRow, utcnow
from app.queue.models import Job
from runner.conversation_state import ConversationState
from runner.events import CheckRun, ResumeState, SessionEvent, event_from_data


def next_seq(db: Session, job_id: int, attempt: int) -> int:
    last = db.scalar(
        select(func.max(SessionEventRow.seq)).where(
            SessionEventRow.job_id == job_id, SessionEventRow.attempt == attempt
        )
    )
    return int(last) + 1 if last is not None else 1


def append_events(
    db: Session, job_id: int, attempt: int, first_seq: int, events: Sequence[SessionEvent]
) -> int:
    """Store `events` from `first_seq` on; returns the next free seq. Does not commit."""
    now = utcnow()
    for offset, event in enumerate(events):
        db.add(
            SessionEventRow(
                job_id=job_id,
                attempt=attempt,
                seq=first_seq + offset,
                type=event.type,
                data=event.model_dump(mode="json"),
                created_at=now,
            )
        )
    return first_seq + len(events)


def events_of(db: Session, job_id: int, attempt: int | None = None) -> list[SessionEvent]:
    """A job's stored events (one attempt's, or all), in order."""
    query = select(SessionEventRow.data).where(SessionEventRow.job_id == job_id)
    if attempt is not None:
        query = query.where(SessionEventRow.attempt == attempt)
    rows = db.scalars(query.order_by(SessionEventRow.attempt, SessionEventRow.seq)).all()
    return [event_from_data(data) for data in rows]


def open_check_runs(events: Iterable[SessionEvent]) -> dict[int, str]:
    """Check runs the events show opened and never concluded: id → head sha."""
    opened: dict[int, str] = {}
    for event in events:
        if isinstance(event, CheckRun):
            if event.state == "in_progress":
                opened[event.id] = event.head_sha
            else:
                opened.pop(event.id, None)
    return opened


def resume_state_for(db: Session, job: Job) -> ConversationState | None:
    """The conversation the job's next attempt continues (issue #14): its own last recorded
    one (after a crash, a kill or a quota pause) or, for a `continue` job, the issue's last
    one; None when there is none or the session that recorded it had finished its task."""
    query = select(SessionEventRow.data).where(SessionEventRow.type == "resume_state")
    if (job.payload or {}).get("action") == "continue":
        query = query.join(Job, Job.id == SessionEventRow.job_id).where(
            Job.repository == job.repository, Job.issue_number == job.issue_number
        )
    else:
        query = query.where(SessionEventRow.job_id == job.id)
    data = db.scalar(query.order_by(SessionEventRow.id.desc()).limit(1))
    if data is None:
        return None
    event = event_from_data(data)
    if not isinstance(event, ResumeState) or event.state.finished:
        return None
    return event.state


def steered_comments(db: Session, job_id: int) -> set[int]:
    """Comments whose message an earlier attempt of the job already gave its model."""
    rows = db.scalars(
        select(SessionEventRow.data).where(
            SessionEventRow.job_id == job_id, SessionEventRow.type == "steered"
        )
    ).all()
    return {int(data["comment_id"]) for data in rows if isinstance(data.get("comment_id"), int)}
