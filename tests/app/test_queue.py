"""The job queue on a real SQLite file and on PostgreSQL (each test runs on both): durability,
one active session per issue, claims with leases, heartbeats, takeover, retries with backoff,
limits and fair share, cancellation."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.queue import store
from app.queue.models import MAX_INTERRUPTIONS, Job, utcnow
from tests.app.queue_harness import REPO, add_job, open_db


def test_jobs_survive_a_reopened_database(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1, delivery_id="d-1", payload={"reason": "labelled"})
        assert job is not None
    database.dispose()

    again = open_db(database_url)
    with again.sessions() as db:
        jobs = db.scalars(select(Job)).all()
    assert [(j.kind, j.issue_number, j.state, j.payload) for j in jobs] == [
        ("start", 1, "queued", {"reason": "labelled"})
    ]


def test_one_active_session_per_issue_and_one_job_per_delivery(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        first = add_job(db, 7, delivery_id="d-1")
        assert first is not None
        assert add_job(db, 7, delivery_id="d-2") is None, "a start while one is queued: dropped"
        assert add_job(db, 7, kind="retry", delivery_id="d-3") is None
        assert add_job(db, 8, delivery_id="d-1") is None, "the same delivery twice: one job"
        review = add_job(db, 7, kind="follow_up", delivery_id="d-4", pull_number=9)
        assert review is not None, "a review while a session is queued: queued behind it"

        claimed = store.claim_next(db, "w1", lease_s=30, max_per_installation=None)
        assert claimed is not None and claimed.id == first.id
        assert add_job(db, 7, delivery_id="d-5") is None, "a start while one runs: dropped"
        another = add_job(db, 7, kind="follow_up", delivery_id="d-6", pull_number=9)
        assert another is not None, "reviews are not lost"
        assert store.active_job(db, REPO, 7).id == first.id  # type: ignore[union-attr]

        assert store.claim_next(db, "w2", lease_s=30, max_per_installation=None) is None, (
            "the issue's follow-ups wait for its running job"
        )
        store.finish(db, first.id, "w1", state="succeeded")
        after = store.claim_next(db, "w2", lease_s=30, max_per_installation=None)
        assert after is not None and after.id == review.id, "then they run in order"
        store.finish(db, review.id, "w2", state="succeeded")
        last = store.claim_next(db, "w2", lease_s=30, max_per_installation=None)
        assert last is not None and last.id == another.id
        store.finish(db, last.id, "w2", state="succeeded")
        assert store.active_job(db, REPO, 7) is None
        assert add_job(db, 7, delivery_id="d-7") is not None, "idle again: a start is queued"


def test_concurrent_enqueues_for_one_issue_make_one_job(database_url: str) -> None:
    database = open_db(database_url)
    made: list[int] = []
    barrier = threading.Barrier(8)

    def label(index: int) -> None:
        barrier.wait()
        with database.sessions() as db:
            job = add_job(db, 3, delivery_id=f"d-{index}")
            if job is not None:
                made.append(job.id)

    threads = [threading.Thread(target=label, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    with database.sessions() as db:
        assert len(store.jobs_for_issue(db, REPO, 3)) == 1


def test_concurrent_claims_take_each_job_once(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        for issue in range(1, 21):
            add_job(db, issue)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(6)

    def worker(name: str) -> None:
        barrier.wait()
        mine = claimed.setdefault(name, [])
        with database.sessions() as db:
            while (
                job := store.claim_next(db, name, lease_s=30, max_per_installation=None)
            ) is not None:
                mine.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert sorted(every) == list(range(1, 21)), "every job claimed exactly once"


def test_heartbeat_and_takeover_of_a_dead_workers_job(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1)
        assert job is not None
        claimed = store.claim_next(db, "dead-worker", lease_s=0.5, max_per_installation=None)
        assert claimed is not None and claimed.lease_owner == "dead-worker"
        assert claimed.attempts == 1
        store.record_check_run(db, job.id, "dead-worker", 555, "abc123")
        assert store.heartbeat(db, job.id, "dead-worker", lease_s=0.5)
        assert not store.heartbeat(db, job.id, "someone-else", lease_s=0.5)

        assert store.requeue_expired(db) == 0, "lease still valid"
        assert store.claim_next(db, "live-worker", lease_s=30, max_per_installation=None) is None

        later = utcnow() + timedelta(seconds=1)
        assert store.requeue_expired(db, later) == 1
        taken = store.get_job(db, job.id)
        assert taken is not None and taken.state == "queued" and taken.lease_owner is None
        assert taken.abandoned_check_runs == [{"id": 555, "head_sha": "abc123"}]
        assert "dead-worker" in (taken.error or "")

        again = store.claim_next(db, "live-worker", lease_s=30, max_per_installation=None)
        # The dead worker's attempt was the infrastructure's failure: it is not counted.
        assert again is not None and again.id == job.id and again.attempts == 1
        assert again.interruptions == 1
        assert not store.heartbeat(db, job.id, "dead-worker", lease_s=30), (
            "the dead worker, back, learns it lost the job"
        )
        store.finish(db, job.id, "dead-worker", state="succeeded")  # not its job: no effect
        assert store.get_job(db, job.id).state == "running"  # type: ignore[union-attr]
        store.forget_abandoned(db, job.id, [555])
        store.finish(db, job.id, "live-worker", state="succeeded")
        done = store.get_job(db, job.id)
        assert done is not None and done.state == "succeeded" and done.abandoned_check_runs == []


def test_takeover_ends_a_job_interrupted_too_often_or_with_a_cancel_pending(
    database_url: str,
) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        once = add_job(db, 1, max_attempts=1)
        stop = add_job(db, 2)
        assert once is not None and stop is not None
        store.claim_next(db, "w", lease_s=0.1, max_per_installation=None)
        store.claim_next(db, "w", lease_s=0.1, max_per_installation=None)
        assert store.cancel_active(db, REPO, 2, "unlabelled") == 1
        db.commit()
        taken = store.take_over_expired(db, utcnow() + timedelta(seconds=1))
        assert sorted((t.job_id, t.state) for t in taken) == [
            (once.id, "queued"),  # its one attempt was not used up by the dead worker
            (stop.id, "cancelled"),
        ]
        for _ in range(MAX_INTERRUPTIONS):
            claimed = store.claim_next(db, "w", lease_s=0.1, max_per_installation=None)
            assert claimed is not None and claimed.id == once.id and claimed.attempts == 1
            taken = store.take_over_expired(db, utcnow() + timedelta(seconds=1))
        assert [(t.job_id, t.state) for t in taken] == [(once.id, "failed")]
        failed = store.get_job(db, once.id)
        assert failed is not None and "giving up" in (failed.error or "")


def test_transient_failures_retry_with_backoff_then_fail(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1, max_attempts=3)
        assert job is not None
        now = utcnow()
        delays = []
        for attempt in (1, 2):
            claimed = store.claim_next(db, "w", lease_s=30, max_per_installation=None, now=now)
            assert claimed is not None and claimed.attempts == attempt
            state = store.fail(
                db, job.id, "w", error="GitHub 502", transient=True, backoff_base_s=10, now=now
            )
            assert state == "queued"
            current = store.get_job(db, job.id)
            assert current is not None and current.not_before is not None
            delays.append((current.not_before - now).total_seconds())
            assert (
                store.claim_next(db, "w", lease_s=30, max_per_installation=None, now=now) is None
            ), "not before the backoff has passed"
            now = current.not_before + timedelta(seconds=0.001)
        assert delays == [10.0, 20.0]
        claimed = store.claim_next(db, "w", lease_s=30, max_per_installation=None, now=now)
        assert claimed is not None and claimed.attempts == 3
        assert store.fail(db, job.id, "w", error="GitHub 502", transient=True, now=now) == "failed"
        failed = store.get_job(db, job.id)
        assert failed is not None and failed.state == "failed"
        assert "gave up after 3 attempts" in (failed.error or "")


def test_a_permanent_failure_is_not_retried(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1)
        assert job is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
        assert store.fail(db, job.id, "w", error="401", transient=False) == "failed"


def test_limits_per_installation_and_in_total(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        for issue in (1, 2, 3):
            add_job(db, issue, installation_id=100)
        add_job(db, 4, installation_id=200)

        def claim(**limits: int | None) -> Job | None:
            per = limits.pop("per", None)
            return store.claim_next(db, "w", lease_s=30, max_per_installation=per, **limits)  # type: ignore[arg-type]

        first = claim(per=2)
        second = claim(per=2)
        assert first is not None and second is not None
        assert (first.installation_id, second.installation_id) == (100, 200), "round-robin"
        third = claim(per=2)
        assert third is not None and third.installation_id == 100
        assert claim(per=2) is None, "installation 100 is at 2, 200 has nothing left"
        assert claim(per=2, max_total=3) is None
        store.finish(db, first.id, "w", state="succeeded")
        assert claim(per=2, max_total=2) is None, "3 running jobs minus 1 = 2: at the total cap"
        fourth = claim(per=2, max_total=3)
        assert fourth is not None and fourth.installation_id == 100


def test_a_busy_installation_does_not_starve_the_others(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        for issue in range(1, 41):
            add_job(db, issue, installation_id=100)  # a flood from one organisation
        for n in range(3):
            add_job(db, 100 + n, installation_id=200 + n)  # then one issue each from three more
        order = []
        for _ in range(8):
            job = store.claim_next(db, "w", lease_s=30, max_per_installation=None)
            assert job is not None
            order.append(job.installation_id)
        assert order == [100, 200, 201, 202, 100, 100, 100, 100], (
            "each newcomer's job runs before the flood's second one"
        )


def test_cancel_queued_and_running(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        running = add_job(db, 1)
        assert running is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
        queued = add_job(db, 1, kind="follow_up", pull_number=5)
        assert queued is not None
        assert store.cancel_active(db, REPO, 1, "issue closed") == 2
        db.commit()
        assert store.get_job(db, queued.id).state == "cancelled"  # type: ignore[union-attr]
        current = store.get_job(db, running.id)
        assert current is not None and current.state == "running" and current.cancel_requested
        assert store.cancel_active(db, REPO, 1, "again") == 0, "nothing new to cancel"
        assert store.fail(db, running.id, "w", error="x", transient=True) == "cancelled"
        assert store.cancel_active(db, REPO, 99, "nothing there") == 0


def test_release_gives_the_job_back_without_counting_the_attempt(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db:
        job = add_job(db, 1)
        assert job is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
        assert store.release(db, job.id, "w", reason="the server stopped")
        current = store.get_job(db, job.id)
        assert current is not None and current.state == "queued" and current.attempts == 0


def test_bad_input_is_refused_with_a_message(database_url: str) -> None:
    database = open_db(database_url)
    with database.sessions() as db, pytest.raises(store.QueueError, match="kind"):
        add_job(db, 1, kind="launch")
    with database.sessions() as db:
        job = add_job(db, 1)
        assert job is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
        with pytest.raises(store.QueueError, match="ends in one of"):
            store.finish(db, job.id, "w", state="running")


def test_postgresql_claim_skips_a_row_another_transaction_holds(postgres_url: str) -> None:
    database = open_db(postgres_url)
    with database.sessions() as db:
        first, second = add_job(db, 1), add_job(db, 2)
        assert first is not None and second is not None
    holder = database.sessions()
    try:
        # Another replica's transaction holds the oldest job's row (as its claim would).
        locked = holder.scalar(select(Job.id).where(Job.id == first.id).with_for_update())
        assert locked == first.id
        started = time.monotonic()
        with database.sessions() as db:
            job = store.claim_next(db, "w2", lease_s=30, max_per_installation=None)
        assert job is not None and job.id == second.id, "the held row is skipped, not waited on"
        assert time.monotonic() - started < 2
    finally:
        holder.rollback()
        holder.close()
    with database.sessions() as db:
        job = store.claim_next(db, "w2", lease_s=30, max_per_installation=None)
        assert job is not None and job.id == first.id, "released: claimed next"
    database.dispose()
