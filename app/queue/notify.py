"""Wake the workers when a transaction that stored a job commits, whoever stored it (the
webhook writer, the reconcile, the API): a job is claimed as soon as it is committed, not at the
next poll. Hooked on the session factory, so no caller has to remember to do it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.queue.models import Job

_FLAG = "autocoder.new_job"


def notify_on_new_jobs(
    sessions: sessionmaker[Session], wake: Callable[[], None]
) -> Callable[[], None]:
    """Call `wake()` after each commit of a session from `sessions` that inserted a job.
    Returns the function that unhooks it."""

    def after_flush(session: Session, context: Any) -> None:
        if any(isinstance(item, Job) for item in session.new):
            session.info[_FLAG] = True

    def after_commit(session: Session) -> None:
        if session.info.pop(_FLAG, False):
            wake()

    def after_rollback(session: Session) -> None:
        session.info.pop(_FLAG, None)

    hooks = (
        ("after_flush", after_flush),
        ("after_commit", after_commit),
        ("after_rollback", after_rollback),
    )
    for name, hook in hooks:
        event.listen(sessions, name, hook)

    def unhook() -> None:
        for name, hook in hooks:
            if event.contains(sessions, name, hook):
                event.remove(sessions, name, hook)

    return unhook
