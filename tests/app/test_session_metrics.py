"""Each session's GitHub REST calls reach the App's metrics: the session reports them in its
`Result` event, the worker hands the result to `Metrics.observe_result`, and
`autocoder_session_github_requests` on /metrics shows them. Real session processes
(tests/app/fake_session.py) on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from app.metrics import Metrics
from app.worker.orders import OrderMaker
from app.worker.pool import PoolConfig, WorkerPool
from runner.settings import RunnerSettings
from tests.app.queue_harness import open_db
from tests.app.test_executor_local import FakeSessionExecutor
from tests.app.test_worker import enqueue, job, wait_for


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not on /metrics")


def test_a_sessions_rest_calls_are_counted_once_per_session(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    metrics = Metrics(database.sessions)
    first = enqueue(database, 1, payload={"fake": "succeed", "github_requests": 11})
    second = enqueue(database, 2, payload={"fake": "succeed", "github_requests": 30})
    failing = enqueue(database, 3, payload={"fake": "fail"})
    pool = WorkerPool(
        database.sessions,
        FakeSessionExecutor(database),
        PoolConfig(concurrency=1, lease_s=5.0, heartbeat_s=0.3, poll_s=0.1, log_dir=tmp_path),
        OrderMaker(RunnerSettings.model_validate({}), lambda job: "ghs_test-token"),
        on_result=metrics.observe_result,
    ).start()
    try:
        for job_id in (first, second, failing):

            def ended(job_id: int = job_id) -> bool:
                return not job(database, job_id).active

            wait_for(ended, what="the jobs end")
    finally:
        pool.stop(timeout=30)

    text = metrics.render().decode()
    name = "autocoder_session_github_requests"
    assert _sample(text, f"{name}_count") == 2, "two results; a session that failed has none"
    assert _sample(text, f"{name}_sum") == 41
    assert _sample(text, f'{name}_bucket{{le="12.0"}}') == 1, "one session within the target"
