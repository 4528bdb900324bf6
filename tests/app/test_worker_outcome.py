"""Recording how an attempt ended (`app.worker.outcome.record_outcome`) on a real database
(SQLite file and PostgreSQL): the job's new state and the session row are one transaction, so
a crash or error between them leaves neither half-written — the job stays running under its
lease (the janitor takes it over when the lease runs out) and its session row stays open."""

from __future__ import annotations

from typing import Any

import pytest

from app import mirror
from app.db.models import SessionRecord
from app.queue import store
from app.worker import outcome
from app.worker.outcome import AttemptEnd, Backoff, record_outcome
from runner.events import Failure, Result
from tests.app.queue_harness import REPO, add_job, open_db

WORKER = "worker-a"


def _claimed_with_row(url: str) -> tuple[Any, int, int]:
    database = open_db(url)
    with database.sessions() as db:
        add_job(db, 7)
        job = store.claim_next(db, WORKER, lease_s=60, max_per_installation=None)
        assert job is not None
        row = mirror.record_session_started(db, repository=REPO, issue_number=7, job_id=job.id)
        db.commit()
        return database, job.id, row.id


def _record(database: Any, job_id: int, row_id: int, end: AttemptEnd) -> str | None:
    with database.sessions() as db:
        job = store.get_job(db, job_id)
        assert job is not None
        return record_outcome(
            db, job, WORKER, end, session_row_id=row_id, log="the log", backoff=Backoff(0, 0)
        )


def _state(database: Any, job_id: int, row_id: int) -> tuple[str, str | None, str | None]:
    with database.sessions() as db:
        job = store.get_job(db, job_id)
        row = db.get(SessionRecord, row_id)
        assert job is not None and row is not None
        return job.state, job.lease_owner, row.conclusion


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (AttemptEnd(last=Result(conclusion="success"), exit_code=0), ("succeeded", "success")),
        (
            AttemptEnd(last=Failure(error="boom", transient=True), exit_code=1),
            ("queued", "failure"),
        ),
        (AttemptEnd(last=None, exit_code=-9), ("queued", "failure")),
    ],
    ids=["succeeded", "retried", "interrupted"],
)
def test_the_job_and_its_session_row_are_recorded_together(
    database_url: str, end: AttemptEnd, expected: tuple[str, str]
) -> None:
    database, job_id, row_id = _claimed_with_row(database_url)
    assert _record(database, job_id, row_id, end) == expected[0]
    state, owner, conclusion = _state(database, job_id, row_id)
    assert (state, conclusion) == expected and owner is None
    database.dispose()


def test_an_error_while_recording_leaves_the_job_running_and_its_row_open(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, job_id, row_id = _claimed_with_row(database_url)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the status write failed")

    monkeypatch.setattr(outcome, "record_status", broken)
    end = AttemptEnd(last=Result(conclusion="success"), exit_code=0)
    with pytest.raises(RuntimeError):
        _record(database, job_id, row_id, end)
    assert _state(database, job_id, row_id) == ("running", WORKER, None)

    monkeypatch.undo()  # the next try (this worker's, or the janitor's after the lease) ends it
    assert _record(database, job_id, row_id, end) == "succeeded"
    assert _state(database, job_id, row_id) == ("succeeded", None, "success")
    database.dispose()


def test_a_worker_that_lost_the_job_records_nothing(database_url: str) -> None:
    database, job_id, row_id = _claimed_with_row(database_url)
    with database.sessions() as db:
        store.release(db, job_id, WORKER, reason="taken over")
        assert store.claim_next(db, "worker-b", lease_s=60, max_per_installation=None) is not None
    end = AttemptEnd(last=Result(conclusion="success"), exit_code=0)
    assert _record(database, job_id, row_id, end) is None
    assert _state(database, job_id, row_id) == ("running", "worker-b", None)
    database.dispose()
