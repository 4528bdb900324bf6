"""The worker pool with real session processes (tests/app/fake_session.py stands in for the
runner, speaking the same work-order/event protocol) on a real SQLite file: runs, retries with
backoff, limits, cancellation, takeover, shutdown, the stored event stream, the feature's
status after each ending, and the claim woken by the commit of a new job."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app import mirror
from app.db.engine import Database
from app.executors.local import group_alive
from app.queue import store
from app.queue.events import events_of
from app.queue.models import Job
from app.queue.notify import notify_on_new_jobs
from app.worker.orders import OrderMaker
from app.worker.pool import PoolConfig, WorkerPool
from runner.settings import RunnerSettings
from tests.app.queue_harness import REPO, add_job, open_db
from tests.app.test_executor_local import FakeSessionExecutor


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)


def job(database: Database, job_id: int) -> Job:
    with database.sessions() as db:
        found = store.get_job(db, job_id)
        assert found is not None
        return found


def states(database: Database) -> dict[int, str]:
    with database.sessions() as db:
        return {j.id: j.state for j in db.query(Job).order_by(Job.id)}


@contextmanager
def running_pool(database: Database, tmp_path: Path, **config: Any) -> Iterator[WorkerPool]:
    defaults: dict[str, Any] = {
        "concurrency": 1,
        "lease_s": 5.0,
        "heartbeat_s": 0.3,
        "poll_s": 0.1,
        "backoff_base_s": 0.3,
        "cancel_grace_s": 0.5,
        "stop_grace_s": 1.0,
        "log_dir": tmp_path / "logs",
    }
    defaults.update(config)
    prefix = defaults.pop("prefix", None)
    notify = defaults.pop("notify", False)
    pool = WorkerPool(
        database.sessions,
        FakeSessionExecutor(database),
        PoolConfig(**defaults),
        OrderMaker(RunnerSettings.model_validate({}), lambda job: "ghs_test-token"),
        prefix=prefix,
    )
    if notify:
        pool.unhook = notify_on_new_jobs(database.sessions, pool.notify)
    pool.start()
    try:
        yield pool
    finally:
        pool.stop(timeout=30)


def agent_status(database: Database, issue: int) -> str | None:
    with database.sessions() as db:
        feature = mirror.get_feature(db, REPO, issue)
        return feature.agent_status if feature is not None else None


def enqueue(database: Database, issue: int, **kwargs: Any) -> int:
    with database.sessions() as db:
        made = add_job(db, issue, **kwargs)
        assert made is not None
        return made.id


def test_a_job_runs_to_success(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    job_id = enqueue(database, 1, payload={"fake": "succeed"})
    with running_pool(database, tmp_path):
        wait_for(lambda: job(database, job_id).state == "succeeded", what="success")
    done = job(database, job_id)
    assert done.attempts == 1 and done.lease_owner is None
    assert (tmp_path / "logs" / f"job-{job_id}-1.log").is_file()
    assert agent_status(database, 1) == "done"
    with database.sessions() as db:
        stream = events_of(db, job_id)
    assert [event.type for event in stream] == ["started", "result"]


def test_a_crashing_session_is_retried_with_backoff_then_failed(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    job_id = enqueue(database, 1, payload={"fake": "crash"}, max_attempts=3)
    seen: list[tuple[int, str]] = []
    with running_pool(database, tmp_path):

        def record() -> bool:
            current = job(database, job_id)
            if not seen or seen[-1] != (current.attempts, current.state):
                seen.append((current.attempts, current.state))
            return current.state == "failed"

        wait_for(record, what="failed")
    failed = job(database, job_id)
    assert failed.attempts == 3
    assert "exited with status 7" in (failed.error or "")
    assert "gave up after 3 attempts" in (failed.error or "")
    assert (1, "queued") in seen and (2, "queued") in seen, seen
    assert not any(s == (4, "running") for s in seen)
    assert agent_status(database, 1) == "failed", "a job that failed for good says so"


def test_a_permanent_failure_is_not_retried(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    job_id = enqueue(database, 1, payload={"fake": "fail"})
    with running_pool(database, tmp_path):
        wait_for(lambda: job(database, job_id).state == "failed")
    assert job(database, job_id).attempts == 1
    assert agent_status(database, 1) == "failed"


def _watch_running(database: Database, stop: threading.Event, peaks: dict[str, int]) -> None:
    while not stop.is_set():
        with database.sessions() as db:
            running = [j for j in db.query(Job).filter(Job.state == "running")]
        peaks["total"] = max(peaks.get("total", 0), len(running))
        for installation in {j.installation_id for j in running}:
            count = sum(1 for j in running if j.installation_id == installation)
            key = f"installation-{installation}"
            peaks[key] = max(peaks.get(key, 0), count)
        time.sleep(0.02)


def test_concurrency_limits_in_total_and_per_installation(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    ids = [
        enqueue(
            database,
            issue,
            installation_id=installation,
            payload={"fake": "succeed", "seconds": 1.0},
        )
        for issue, installation in [(1, 100), (2, 100), (3, 100), (4, 200), (5, 200), (6, 300)]
    ]
    peaks: dict[str, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_running, args=(database, stop, peaks))
    watcher.start()
    try:
        with running_pool(database, tmp_path, concurrency=3, max_per_installation=1):
            wait_for(lambda: all(s == "succeeded" for s in states(database).values()), timeout=60)
    finally:
        stop.set()
        watcher.join()
    assert sorted(states(database)) == ids
    assert peaks["total"] == 3, peaks
    assert peaks["installation-100"] == 1 and peaks["installation-200"] == 1, peaks


def test_cancel_of_a_running_session_that_honours_it(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    job_id = enqueue(database, 1, payload={"fake": "wait_cancel"})
    with running_pool(database, tmp_path):
        wait_for(lambda: job(database, job_id).state == "running")
        with database.sessions() as db:
            assert store.cancel_active(db, REPO, 1, "issue unlabelled") == 1
            db.commit()
        wait_for(lambda: job(database, job_id).state == "cancelled")
    assert agent_status(database, 1) == "pending"


def test_cancel_of_a_running_session_that_ignores_it_kills_its_process_group(
    tmp_path: Path,
) -> None:
    database = open_db(tmp_path)
    pids = tmp_path / "pids.json"
    job_id = enqueue(database, 1, payload={"fake": "hang", "pids": str(pids)})
    queued_id = enqueue(database, 2, payload={"fake": "succeed"})
    with running_pool(database, tmp_path, concurrency=1) as pool:
        wait_for(pids.exists, what="session started")
        leader, _grandchild = json.loads(pids.read_text())
        assert group_alive(leader)
        with database.sessions() as db:
            assert store.cancel_active(db, REPO, 1, "/autocoder stop") == 1
            assert store.cancel_active(db, REPO, 2, "issue closed") == 1
            db.commit()
        assert job(database, queued_id).state == "cancelled", "a queued job is cancelled at once"
        wait_for(lambda: job(database, job_id).state == "cancelled", what="cancelled")
        assert not group_alive(leader), "the session's process group is gone"
        assert job_id not in pool.running


def test_a_dead_workers_job_is_taken_over_when_its_lease_runs_out(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    job_id = enqueue(database, 1, payload={"fake": "succeed"})
    with database.sessions() as db:
        claimed = store.claim_next(db, "server-a/0", lease_s=1.0, max_per_installation=None)
        assert claimed is not None and claimed.id == job_id
    # server-a dies here: no heartbeat, no finish.
    started = time.monotonic()
    with running_pool(database, tmp_path, lease_s=1.0, prefix="server-b"):
        wait_for(lambda: job(database, job_id).state == "succeeded", what="taken over")
    assert time.monotonic() - started >= 0.5, "not before the lease ran out"
    done = job(database, job_id)
    assert done.attempts == 1, "the dead worker's attempt does not count against the job"
    assert done.interruptions == 1
    with database.sessions() as db:
        assert not store.heartbeat(db, job_id, "server-a/0", lease_s=1.0)


def test_stopping_the_pool_gives_running_jobs_back(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    pids = tmp_path / "pids.json"
    job_id = enqueue(database, 1, payload={"fake": "hang", "pids": str(pids)})
    with running_pool(database, tmp_path) as pool:
        wait_for(pids.exists)
        leader, _ = json.loads(pids.read_text())
        pool.stop(timeout=20)
        assert not pool.alive
    assert not group_alive(leader)
    released = job(database, job_id)
    assert released.state == "queued" and released.attempts == 0


def test_a_session_killed_from_outside_runs_again_without_using_an_attempt(
    tmp_path: Path,
) -> None:
    database = open_db(tmp_path)
    pids = tmp_path / "pids.json"
    job_id = enqueue(database, 1, payload={"fake": "hang", "pids": str(pids)}, max_attempts=1)
    with running_pool(database, tmp_path, backoff_base_s=30.0):
        wait_for(pids.exists, what="session started")
        leader, _ = json.loads(pids.read_text())
        with database.sessions() as db:  # the next attempt succeeds
            current = store.get_job(db, job_id)
            assert current is not None
            current.payload = {"fake": "succeed"}
            db.commit()
        os.killpg(leader, signal.SIGKILL)  # an OOM killer, an operator's kill -9
        wait_for(lambda: job(database, job_id).state == "succeeded", what="the rerun")
    done = job(database, job_id)
    assert done.attempts == 1 and done.interruptions == 1, "max_attempts=1 was not used up"
    assert agent_status(database, 1) == "done"


def test_a_committed_job_is_claimed_at_once_not_at_the_next_poll(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    with running_pool(database, tmp_path, poll_s=60.0, notify=True):
        time.sleep(0.5)  # the worker is now waiting for its next poll, a minute away
        started = time.monotonic()
        job_id = enqueue(database, 1, payload={"fake": "succeed"})
        wait_for(lambda: job(database, job_id).state == "succeeded", timeout=20)
        assert time.monotonic() - started < 15
