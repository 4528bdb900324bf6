"""The local executor: a subprocess per session in its own process group, with stdin/stdout
pipes and a clean environment, stoppable (SIGTERM, then SIGKILL of the whole group)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from app.db.engine import Database
from app.executors.base import LaunchSpec
from app.executors.local import LocalExecutor, child_env, group_alive
from app.queue import store
from runner.settings import RunnerSettings
from runner.work_order import WorkKind, WorkOrder
from tests.app.queue_harness import add_job, open_db


class FakeSessionExecutor(LocalExecutor):
    """The local executor, launching tests/app/fake_session.py instead of the session process;
    its behaviour is the job's payload (read by the test, the fake gets it as its argument)."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def command(self, spec: LaunchSpec) -> list[str]:
        with self.database.sessions() as db:
            job = store.get_job(db, spec.job_id)
            plan: dict[str, Any] = dict(job.payload) if job is not None else {}
        return [sys.executable, "-m", "tests.app.fake_session", json.dumps(plan)]


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_command_is_the_session_process_with_no_job_and_no_secret() -> None:
    spec = LaunchSpec(job_id=4, attempt=1, worker_id="host:1:ab/0")
    command = LocalExecutor(python="/usr/bin/python3").command(spec)
    assert command == ["/usr/bin/python3", "-m", "runner.session_process"]


def test_child_environment_is_the_basics_and_what_it_is_given(monkeypatch) -> None:
    monkeypatch.setenv("AUTOCODER_WEBHOOK_SECRET", "hush-hush-secret")
    monkeypatch.setenv("AUTOCODER_DATABASE_URL", "postgresql://u:pw@db/autocoder")
    monkeypatch.setenv("AUTOCODER_GITHUB_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----")
    env = child_env({"CLAUDE_CODE_MAX_RETRIES": "2"})
    assert not any(name.startswith("AUTOCODER_") for name in env), sorted(env)
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "2"
    assert env["PATH"] == os.environ["PATH"]


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    pids_file = tmp_path / "pids.json"
    with database.sessions() as db:
        job = add_job(db, 1, payload={"fake": "hang", "pids": str(pids_file)})
        assert job is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
    spec = LaunchSpec(job_id=job.id, attempt=1, worker_id="w", log_path=tmp_path / "session.log")
    handle = FakeSessionExecutor(database).launch(spec)
    order = WorkOrder(
        job_id=job.id,
        attempt=1,
        session_id="s1",
        kind=WorkKind.START,
        repository="octo/hello",
        issue_number=1,
        github_token=SecretStr("ghs_test"),
        settings=RunnerSettings.model_validate({}),
    )
    handle.stdin.write(order.to_line().encode())
    handle.stdin.flush()
    assert b'"type":"started"' in handle.stdout.readline()
    _wait_for(pids_file.exists)
    leader, grandchild = json.loads(pids_file.read_text())
    assert leader == handle.process.pid
    assert os.getpgid(grandchild) == handle.pgid == leader, "one group: the session's own"
    assert os.getpgid(leader) != os.getpgrp(), "not the server's group"
    assert handle.wait(timeout=0.2) is None

    started = time.monotonic()
    code = handle.stop(grace_s=1.0)
    assert code != 0
    assert time.monotonic() - started < 10
    assert not group_alive(handle.pgid), "the session ignored SIGTERM: SIGKILL took the group"
    assert "fake session for job" in (tmp_path / "session.log").read_text()
