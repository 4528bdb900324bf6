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
from pathlib import Path

import pytest

from app import mirror
from app.db.engine import open_database
from app.queue import store
from app.queue.events import events_of
from app.queue.models import Job
from tests.app.continuity_harness import all_check_runs, serve_env, terminal_job
from tests.app.serve_harness import process_env, serve_process, session_pids, still_running
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Fault, Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("crash", ["server", "host", "session", "session-then-fails"])
def test_kill_9_mid_session_then_recovery(
    crash: str, github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
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
    with running_model_server("openai", [t for t in turns if t is not None]) as model:
        env, port, database_url = serve_env(
            world, github_emulator, tmp_path, model.base_url, AUTOCODER_STOP_GRACE_SECONDS="20"
        )
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port) as first:
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
            wait_for(lambda: not still_running(sessions[0]), 40, "the session to end")
            if crash.startswith("session"):  # the same server runs it again
                done: Job = wait_for(
                    lambda: terminal_job(database_url, job.id), 120, "the job to end after the kill"
                )

        if crash in ("server", "host"):
            with database.sessions() as db:
                after_crash = store.get_job(db, job.id)
            assert after_crash is not None
            assert after_crash.state == "running", "nobody concluded it: its lease must run out"
            env["AUTOCODER_LEASE_SECONDS"] = "2"
            with serve_process(env, log, port=port):
                done = wait_for(
                    lambda: terminal_job(database_url, job.id), 120, "the job to end after restart"
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
