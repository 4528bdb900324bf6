"""`kill -9` of `autocoder serve` and its session right after the session pushed its finished
work (issue #17), then a restart: the next attempt delivers that work without asking the model
again — exactly one pull request, every check run completed, the job succeeded.

Before, the next attempt started again from the base branch, redid the model's work and was
refused as a non-fast-forward push, until the job failed for good. The kill lands as soon as the
emulator holds the pushed branch: before the pull request, or just after it (the session goes
on in the milliseconds the test takes to notice); the outcome must be the same either way.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from app.db.engine import open_database
from app.queue import store
from app.queue.models import Job
from tests.app.continuity_harness import all_check_runs, serve_env, terminal_job
from tests.app.serve_harness import serve_process, session_pids, still_running
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


def _pushed_branch(world: World) -> str | None:
    refs = world.git("for-each-ref", "--format=%(refname:short)", "refs/heads/autocoder").split()
    return refs[0] if refs else None


def test_kill_9_after_the_push_then_the_restart_delivers_without_the_model(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting", "Please add hello.txt.")
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        env, port, database_url = serve_env(world, github_emulator, tmp_path, model.base_url)
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port) as first:
            github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            sessions = wait_for(lambda: session_pids(first.pid), 90, "the session to start")
            session_pgid = os.getpgid(sessions[0])
            deadline = time.monotonic() + 120
            while _pushed_branch(world) is None:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.02)
            # kill -9 of the machine: the server's and the session's process groups.
            os.killpg(first.pid, signal.SIGKILL)
            os.killpg(session_pgid, signal.SIGKILL)
            first.wait()
            wait_for(lambda: not still_running(sessions[0]), 40, "the session to die")
        assert model.turns_served == 2
        # Model conversations: requests for a turn (not the start-up probe of /v1/models).
        conversation = lambda: [r for r in model.requests if r.role in ("turn", "exhausted")]  # noqa: E731
        requests_before_restart = len(conversation())
        database = open_database(database_url, run_migrations=False)
        with database.sessions() as db:
            (job,) = store.jobs_for_issue(db, REPO, number)
        env["AUTOCODER_LEASE_SECONDS"] = "2"
        with serve_process(env, log, port=port):
            done: Job = wait_for(
                lambda: terminal_job(database_url, job.id), 120, "the job to end after restart"
            )
        assert len(conversation()) == requests_before_restart, "the model was asked again"

    assert done.state == "succeeded", (done.error, log.read_text()[-4000:])
    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello!\n"
    assert len(world.git("rev-list", f"main..{branch}").split()) == 1
    runs = all_check_runs(world)
    assert runs and all(r["status"] == "completed" for r in runs), [
        (r["id"], r["status"], r["conclusion"]) for r in runs
    ]
    head_runs = [r for r in runs if r["head_sha"] == pulls[0]["head"]["sha"]]
    assert "success" in [r["conclusion"] for r in head_runs]
    assert "PushRejected" not in log.read_text()
