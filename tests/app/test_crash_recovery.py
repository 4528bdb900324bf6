"""`kill -9` mid-session — of `autocoder serve`, of the whole host, of the session process
alone — then recovery: every time exactly one PR, every check run for the issue in a terminal
state, and the feature's status right afterwards, including for a job that fails for good.

Everything is real but GitHub (the emulator) and the model (a scripted OpenAI-compatible
server whose second turn stalls, so the kill lands mid-session): the server is a real
`autocoder serve` process on loopback with a SQLite file, the session a real
`python -m runner.session_process` process, git real.

- `server`: only the server's process group is killed. The session (in its own group) is told
  by the kernel (`PR_SET_PDEATHSIG`) and by its closed stdin, stops gracefully — commits and
  pushes its work, concludes its check run `cancelled` — and exits; nobody records the job's
  outcome (the session has no database), so after the lease runs out the restarted server
  takes the job over and runs it again, on the same branch and pull request.
- `host`: the server's and the session's groups are both killed (as a machine crash would).
  After the lease runs out the restarted server takes the job over, closes the check run the
  dead session left `in_progress`, and runs the job again.
- `session`: only the session process is killed; its worker sees it die, gives the job back
  without using up an attempt, concludes the check run the session left open (it knows it from
  the event stream) and runs the job again.
- `session-then-fails`: as `session`, but the rerun meets a model error: the job fails for good
  and the feature says `failed`.

Neither infrastructure failure uses up one of the job's attempts. The session process's own
environment and command line hold no database URL and no App key, and its event stream is
stored.
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

from app import mirror
from app.db.engine import open_database
from app.queue import store
from app.queue.events import events_of
from app.queue.models import Job
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Fault, Stall, Turn
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


def session_pids(server_pid: int) -> list[int]:
    """The server's child processes running a session (read from /proc): `runner.session_process`
    that has its work order (it names itself `ac-session` then; a warm spare waiting for its
    order is not a session yet)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            working = (entry / "comm").read_text().strip() == "ac-session"
        except (OSError, ValueError, IndexError):
            continue
        if b"runner.session_process" in argv and parent == server_pid and working:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def process_env(pid: int) -> dict[str, str]:
    raw = (Path("/proc") / str(pid) / "environ").read_bytes()
    pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item]
    return {name.decode(): value.decode(errors="replace") for name, value in pairs}


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


@pytest.mark.parametrize("crash", ["server", "host", "session", "session-then-fails"])
def test_kill_9_mid_session_then_recovery(
    crash: str, github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    port = free_port()
    github_emulator.set_webhook_url(world.app.id, f"http://127.0.0.1:{port}/api/github/webhooks")
    number = world.open_issue("Add greetings", "Please add hello.txt and bye.txt.")
    fails = crash == "session-then-fails"
    turns = [
        write_turn("openai", "hello.txt", "Hello!\n"),
        # The first request for this turn hangs (the kill lands while it does); the rerun's
        # request gets the turn itself.
        Turn(
            tool_calls=write_turn("openai", "bye.txt", "Bye!\n").tool_calls,
            stall=Stall(seconds=300, times=1),
        ),
        # A model error the rerun cannot get past: the job fails for good.
        Turn(text="never", fault=Fault(status=400, times=50)) if fails else None,
        final_turn("Added hello.txt and bye.txt."),
    ]
    database_url = f"sqlite:///{tmp_path / 'data' / 'autocoder.db'}"
    with running_model_server("openai", [t for t in turns if t is not None]) as model:
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
            "AUTOCODER_LEASE_SECONDS": "5",
            "AUTOCODER_HEARTBEAT_SECONDS": "0.5",
            "AUTOCODER_STOP_GRACE_SECONDS": "20",
            "AUTOCODER_POLL_SECONDS": "0.2",
            "AUTOCODER_MAX_ATTEMPTS": "1",  # an interruption must not use it up
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
            sessions = session_pids(first.pid)
            assert len(sessions) == 1, sessions
            session_pgid = os.getpgid(sessions[0])
            assert session_pgid != os.getpgid(first.pid), "the session has its own group"
            # The session process holds no database URL, no App key, no server secret.
            argv = (Path("/proc") / str(sessions[0]) / "cmdline").read_bytes().split(b"\0")
            assert argv[1:] == [b"-m", b"runner.session_process", b""], argv
            session_env = process_env(sessions[0])
            assert not [n for n in session_env if n.startswith("AUTOCODER_")], sorted(session_env)
            leaked = (database_url, world.app.private_key.strip(), world.app.webhook_secret)
            assert not any(s in v for s in leaked for v in session_env.values())

            if crash in ("server", "host"):
                os.killpg(first.pid, signal.SIGKILL)  # kill -9 of the server's process group
                first.wait()
            if crash != "server":
                os.killpg(session_pgid, signal.SIGKILL)
            # The session does not outlive its server (it stops, or was killed).
            wait_for(lambda: not running(sessions[0]), 40, "the session to end")
            if crash.startswith("session"):  # the same server runs it again
                done: Job = wait_for(
                    lambda: _terminal(database_url, job.id), 120, "the job to end after the kill"
                )

        if crash in ("server", "host"):
            with database.sessions() as db:
                after_crash = store.get_job(db, job.id)
            assert after_crash is not None
            assert after_crash.state == "running", "nobody concluded it: its lease must run out"
            env["AUTOCODER_LEASE_SECONDS"] = "2"
            with serve(env, port, log):
                done = wait_for(
                    lambda: _terminal(database_url, job.id), 120, "the job to end after restart"
                )

    expected = "failed" if fails else "succeeded"
    assert done.state == expected, (done.error, log.read_text()[-4000:])
    assert done.attempts == 1 and done.interruptions == 1, (done.attempts, done.interruptions)
    with database.sessions() as db:
        feature = mirror.get_feature(db, REPO, number)
        stream = events_of(db, job.id)
    assert feature is not None
    assert feature.agent_status == ("failed" if fails else "pr_open")
    assert stream[0].type == "started" and stream[-1].type == "result", [e.type for e in stream]
    assert any(e.type == "check_run" for e in stream)

    pulls = open_pulls(world)
    runs = all_check_runs(world)
    assert runs and all(r["status"] == "completed" for r in runs), [
        (r["id"], r["status"], r["conclusion"]) for r in runs
    ]
    interrupted = [r for r in runs if r["conclusion"] == "cancelled"]
    assert interrupted, "the interrupted session's check run was concluded, not left open"
    if fails:
        assert len(pulls) <= 1
        # The rerun's own check run says it failed (one it moved off on a push is neutral).
        assert "failure" in [r["conclusion"] for r in runs if r not in interrupted]
        return
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:bye.txt") == "Bye!\n"
    if crash == "server":
        # The interrupted session committed and pushed its work before it stopped.
        assert world.git("show", f"{branch}:hello.txt") == "Hello!\n"
    head_runs = [r for r in runs if r["head_sha"] == pulls[0]["head"]["sha"]]
    assert [r["conclusion"] for r in head_runs] == ["success"]
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
