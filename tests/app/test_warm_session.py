"""The local executor's warm spare: a session process started (and its imports done) before any
job, handed the next job's work order; its log becomes the job's log; a spare for another
environment is not used; closing the executor ends the spare. Real processes
(`python -m runner.session_process`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from app.executors.base import LaunchSpec
from app.executors.local import LocalExecutor, group_alive

ENV = {"AUTOCODER_TEST_MARK": "warm"}


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_next_job_runs_in_the_process_started_before_it(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    executor = LocalExecutor(spare=True, respawn_delay_s=0.0)
    executor.prepare(ENV, logs)
    try:
        wait_for(lambda: executor.spare_pid is not None, what="a warm spare")
        spare = executor.spare_pid
        log_path = logs / "job-1-1.log"
        handle = executor.launch(LaunchSpec(job_id=1, attempt=1, env=ENV, log_path=log_path))
        assert handle.process.pid == spare, "the job went to the waiting process"

        handle.stdin.write(b'{"not": "a work order"}\n')
        handle.stdin.flush()
        event = json.loads(handle.stdout.readline())
        assert event["type"] == "failure" and "no valid work order" in event["error"]
        assert handle.wait(timeout=30) == 2
        assert "not a work order" in log_path.read_text(), "the spare's log is the job's log"

        wait_for(lambda: executor.spare_pid not in (None, spare), what="the next spare")
        second = executor.spare_pid
        other = executor.launch(
            LaunchSpec(job_id=2, attempt=1, env={"OTHER": "1"}, log_path=logs / "job-2-1.log")
        )
        assert other.process.pid != second, "another environment: a fresh process"
        other.stop(grace_s=1.0)
        wait_for(lambda: executor.spare_pid not in (None, second), what="a spare again")
    finally:
        last = executor.spare_pid
        executor.close()
    assert last is not None and not group_alive(last), "closing ends the waiting spare"
    assert not list(logs.glob("spare-*")), "no log of a spare nobody used is left"
