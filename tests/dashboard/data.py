"""Rows for the dashboard's tests, written with the App's own functions (the mirror, the queue,
the worker's event store): a repository, features, jobs and session events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.queue import events as stored
from app.queue.models import Job
from app.queue.store import enqueue
from runner.events import SessionEvent

REPO = "octo/hello"
INSTALLATION = 77


def add_repository(sessions: sessionmaker[Session], full_name: str = REPO) -> None:
    with sessions() as db, db.begin():
        mirror.upsert_installation(
            db, {"id": INSTALLATION, "account": {"login": "octo", "type": "Organization"}}
        )
        mirror.upsert_repository_json(
            db, {"id": 1, "full_name": full_name, "private": False}, INSTALLATION
        )


def add_issue(
    sessions: sessionmaker[Session], number: int, title: str, repository: str = REPO
) -> None:
    issue: dict[str, Any] = {
        "number": number,
        "title": title,
        "body": "",
        "state": "open",
        "labels": [],
        "user": {"login": "mona"},
        "html_url": f"https://github.test/{repository}/issues/{number}",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    with sessions() as db, db.begin():
        mirror.upsert_issue(db, repository, issue)


def add_job(
    sessions: sessionmaker[Session], number: int, state: str = "running", repository: str = REPO
) -> int:
    with sessions() as db, db.begin():
        job = enqueue(
            db,
            kind="start",
            repository=repository,
            issue_number=number,
            installation_id=INSTALLATION,
            actor="mona",
            payload={},
            delivery_id=None,
        )
        assert job is not None
        job.state = state
        job.attempts = 1
        db.flush()
        return int(job.id)


def add_events(
    sessions: sessionmaker[Session], job_id: int, events: list[SessionEvent], attempt: int = 1
) -> None:
    with sessions() as db:
        first = stored.next_seq(db, job_id, attempt)
        stored.append_events(db, job_id, attempt, first, events)
        db.commit()


def job_row(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as db:
        job = db.get(Job, job_id)
        assert job is not None
        db.expunge(job)
        return job
