"""Issue #14's quota pause in the job queue (SQLite and PostgreSQL): a paused job goes back to
the queue due at the time the model's quota returns, without using an attempt; only the worker
that holds it can pause it; a pending cancel wins over the pause; `/autocoder tell` messages are
kept on the job once each."""

from __future__ import annotations

from datetime import timedelta

from app.queue import store
from app.queue.models import utcnow
from tests.app.queue_harness import add_job, open_db


def test_a_paused_job_is_due_again_at_its_time_without_using_an_attempt(
    database_url: str,
) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1, max_attempts=1)
        assert job is not None
        claimed = store.claim_next(db, "w1", lease_s=30, max_per_installation=None)
        assert claimed is not None and claimed.attempts == 1
        until = utcnow() + timedelta(minutes=15)
        assert store.pause(db, job.id, "someone-else", until=until, reason="quota") is None
        assert store.pause(db, job.id, "w1", until=until, reason="paused (model quota)") == "queued"
        paused = store.get_job(db, job.id)
        assert paused is not None and paused.state == "queued" and paused.lease_owner is None
        assert paused.attempts == 0 and paused.error == "paused (model quota)"

        assert store.claim_next(db, "w2", lease_s=30, max_per_installation=None) is None
        later = until + timedelta(seconds=1)
        again = store.claim_next(db, "w2", lease_s=30, max_per_installation=None, now=later)
        # Its only attempt is still there: the pause was the model's, not the job's failure.
        assert again is not None and again.id == job.id and again.attempts == 1


def test_a_cancel_pending_wins_over_the_pause(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 2)
        assert job is not None
        store.claim_next(db, "w1", lease_s=30, max_per_installation=None)
        store.cancel_active(db, job.repository, 2, "stopped by a maintainer")
        db.commit()
        until = utcnow() + timedelta(minutes=5)
        assert store.pause(db, job.id, "w1", until=until, reason="quota") == "cancelled"
        assert store.get_job(db, job.id).state == "cancelled"  # type: ignore[union-attr]


def test_tell_messages_are_kept_once_each(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 3)
        assert job is not None
        message = {"comment_id": 9, "author": "ada", "text": "also do X"}
        store.add_tell(db, job, message)
        store.add_tell(db, job, dict(message))  # the same comment, redelivered
        store.add_tell(db, job, {"comment_id": 10, "author": "ada", "text": "and Y"})
        db.commit()
        kept = store.get_job(db, job.id)
        assert kept is not None
        assert [m["comment_id"] for m in kept.payload["tell"]] == [9, 10]
