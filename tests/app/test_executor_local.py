"""The local executor: a subprocess per session in its own process group, stoppable (SIGTERM,
then SIGKILL of the whole group)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from app.executors.base import DATABASE_URL_ENV, LaunchSpec, session_argv
from app.executors.local import LocalExecutor, child_env, group_alive
from app.queue import store
from tests.app.queue_harness import add_job, open_db


class FakeSessionExecutor(LocalExecutor):
    """The local executor, launching tests/app/fake_session.py instead of app.session_main."""

    def command(self, spec: LaunchSpec) -> list[str]:
        argv = session_argv(spec, parent_pid=os.getpid())
        return [sys.executable, "-m", "tests.app.fake_session", *argv[2:]]


def _wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_command_has_no_secret_and_names_the_parent() -> None:
    spec = LaunchSpec(job_id=4, attempt=1, worker_id="host:1:ab/0", lease_s=30, heartbeat_s=10)
    command = LocalExecutor(python="/usr/bin/python3").command(spec)
    assert command[:3] == ["/usr/bin/python3", "-m", "app.session_main"]
    assert command[command.index("--job-id") + 1] == "4"
    assert command[command.index("--parent-pid") + 1] == str(os.getpid())
    assert "--database-url" not in command, "the URL (maybe with a password) goes by environment"


def test_child_environment_withholds_the_webhook_secret(monkeypatch) -> None:
    monkeypatch.setenv("AUTOCODER_WEBHOOK_SECRET", "hush-hush-secret")
    env = child_env({"AUTOCODER_GITHUB_APP_ID": "5"})
    assert "AUTOCODER_WEBHOOK_SECRET" not in env
    assert env["AUTOCODER_GITHUB_APP_ID"] == "5"


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    pids_file = tmp_path / "pids.json"
    with database.sessions() as db:
        job = add_job(db, 1, payload={"fake": "hang", "pids": str(pids_file)})
        assert job is not None
        store.claim_next(db, "w", lease_s=30, max_per_installation=None)
    spec = LaunchSpec(
        job_id=job.id,
        attempt=1,
        worker_id="w",
        lease_s=30,
        heartbeat_s=10,
        env={DATABASE_URL_ENV: str(database.engine.url)},
        log_path=tmp_path / "session.log",
    )
    handle = FakeSessionExecutor().launch(spec)
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
