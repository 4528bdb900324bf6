"""`kill -9` of `autocoder serve` while a session runs, then a restart: the job is taken over or
concluded, every check run for the issue ends in a terminal state, and there is exactly one PR.

Everything is real but GitHub (the emulator) and the model (a scripted OpenAI-compatible
server whose second turn stalls, so the kill lands mid-session): the server is a real
`autocoder serve` process on loopback with a SQLite file, the session a real
`python -m app.session_main` process, git real.

Two crashes:

- `server`: only the server's process group is killed. The session (in its own group) gets
  SIGTERM from the kernel (`PR_SET_PDEATHSIG`), stops gracefully — commits and pushes its work,
  concludes its check run `cancelled` — and gives the job back to the queue; the restarted
  server runs it again, on the same branch and pull request.
- `host`: the server's and the session's groups are both killed (as a machine crash would).
  Nothing concludes anything; after the lease runs out the restarted server takes the job over,
  closes the check run the dead session left `in_progress`, and runs the job again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.engine import open_database
from app.queue import store
from app.queue.models import Job
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def serve(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autocoder",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: _healthy(port) or process.poll() is not None, 60, "autocoder serve to answer"
        )
        assert process.poll() is None, log.read_text()[-3000:]
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def session_pids(job_id: int) -> list[int]:
    """Processes running `app.session_main` for the job (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"app.session_main" in argv and str(job_id).encode() in argv:
            found.append(int(entry.name))
    return found


def all_check_runs(world: World) -> list[dict[str, Any]]:
    """Every `autocoder` check run on any commit of main or of autocoder's branches."""
    refs = world.git("for-each-ref", "--format=%(refname)", "refs/heads").split()
    shas = set(world.git("rev-list", *refs).split())
    runs: dict[int, dict[str, Any]] = {}
    for sha in shas:
        found = world.api(f"/repos/{REPO}/commits/{sha}/check-runs?filter=all")["check_runs"]
        for run in found:
            if run["name"] == "autocoder":
                runs[run["id"]] = run
    return list(runs.values())


@pytest.mark.parametrize("crash", ["server", "host"])
def test_kill_9_of_the_server_mid_session_then_restart(
    crash: str, github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    port = free_port()
    github_emulator.set_webhook_url(world.app.id, f"http://127.0.0.1:{port}/api/github/webhooks")
    number = world.open_issue("Add greetings", "Please add hello.txt and bye.txt.")
    turns = [
        write_turn("openai", "hello.txt", "Hello!\n"),
        # The first request for this turn hangs (the kill lands while it does); the rerun's
        # request gets the turn itself.
        Turn(
            tool_calls=write_turn("openai", "bye.txt", "Bye!\n").tool_calls,
            stall=Stall(seconds=300, times=1),
        ),
        final_turn("Added hello.txt and bye.txt."),
    ]
    database_url = f"sqlite:///{tmp_path / 'data' / 'autocoder.db'}"
    with running_model_server("openai", turns) as model:
        env = {
            **os.environ,
            **world.runner_env(
                tmp_path / "cache",
                AUTOCODER_ENGINE="openai",
                AUTOCODER_BASE_URL=model.base_url,
                AUTOCODER_MODEL="scripted",
                AUTOCODER_API_KEY="sk-model-key-for-tests",
                AUTOCODER_MAX_TURNS="10",
            ),
            "AUTOCODER_WEBHOOK_SECRET": world.app.webhook_secret,
            "AUTOCODER_DATABASE_URL": database_url,
            "AUTOCODER_RECONCILE_INTERVAL": "0",
            "AUTOCODER_GITHUB_SECONDS_BETWEEN_WRITES": "0",
            "AUTOCODER_LEASE_SECONDS": "30",
            "AUTOCODER_HEARTBEAT_SECONDS": "0.5",
            "AUTOCODER_STOP_GRACE_SECONDS": "20",
            "AUTOCODER_POLL_SECONDS": "0.2",
        }
        log = tmp_path / "serve.log"
        with serve(env, port, log) as first:
            github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            wait_for(
                lambda: any(r.role == "stall" for r in model.requests),
                90,
                "the session to reach the stalled model turn",
            )
            database = open_database(database_url, run_migrations=False)
            with database.sessions() as db:
                (job,) = store.jobs_for_issue(db, REPO, number)
            assert job.state == "running"
            assert job.check_run_id is not None, "the open check run is recorded on the job"
            sessions = session_pids(job.id)
            assert len(sessions) == 1, sessions
            session_pgid = os.getpgid(sessions[0])
            assert session_pgid != os.getpgid(first.pid), "the session has its own group"

            os.killpg(first.pid, signal.SIGKILL)  # kill -9 of the server's process group
            first.wait()
            if crash == "host":
                os.killpg(session_pgid, signal.SIGKILL)
            # The session does not outlive its server (it stops, or was killed).
            wait_for(lambda: not session_pids(job.id), 40, "the orphaned session to end")

        with database.sessions() as db:
            after_crash = store.get_job(db, job.id)
        assert after_crash is not None
        if crash == "server":
            assert after_crash.state == "queued", after_crash.error
            assert "interrupted" in (after_crash.error or "")
        else:
            assert after_crash.state == "running", "nobody concluded it: its lease must run out"

        env["AUTOCODER_LEASE_SECONDS"] = "2"
        with serve(env, port, log):
            done: Job = wait_for(
                lambda: _terminal(database_url, job.id), 120, "the job to end after the restart"
            )
            assert done.state == "succeeded", (done.error, log.read_text()[-4000:])
            assert done.attempts == (2 if crash == "host" else 1)

    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:bye.txt") == "Bye!\n"
    if crash == "server":
        # The interrupted session committed and pushed its work before it stopped.
        assert world.git("show", f"{branch}:hello.txt") == "Hello!\n"

    runs = all_check_runs(world)
    assert runs and all(r["status"] == "completed" for r in runs), [
        (r["id"], r["status"], r["conclusion"]) for r in runs
    ]
    head_runs = [r for r in runs if r["head_sha"] == pulls[0]["head"]["sha"]]
    assert [r["conclusion"] for r in head_runs] == ["success"]
    interrupted = [r for r in runs if r["conclusion"] == "cancelled"]
    assert interrupted, "the interrupted session's check run was concluded, not left open"
    if crash == "host":
        assert any(r["output"]["title"] == "Interrupted" for r in interrupted)


def _terminal(database_url: str, job_id: int) -> Job | None:
    database = open_database(database_url, run_migrations=False)
    try:
        with database.sessions() as db:
            job = store.get_job(db, job_id)
            return job if job is not None and job.state in store.TERMINAL_STATES else None
    finally:
        database.dispose()
