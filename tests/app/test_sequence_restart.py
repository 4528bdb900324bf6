"""A spec's sequence survives what a server survives (issue #13), end to end on loopback with the
GitHub emulator and a scripted OpenAI-compatible model:

- the initializer run again (the spec labelled again, then `/autocoder retry` on it) finds its
  features by their hidden markers and creates none twice: still three feature issues, three
  sub-issues, one blocked-by;
- `autocoder serve` killed with SIGKILL (with the session it runs, as a machine crash would)
  in the middle of the second feature's session, then restarted: the sequence goes on at that
  feature, the first is not done again, the third follows, and the spec reads 3/3 finished. One
  job, one pull request and one `test_progress` delivery per feature.

The model's script is linear, so a feature done twice would take turns meant for another and
the run would not finish with every turn served exactly once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.db.engine import open_database
from app.queue import store
from app.queue.models import Job
from tests.app.sequence_harness import (
    FEATURES,
    feature_turns,
    initializer_turns,
    labels_of,
    progress,
    pulls_for,
    receiving,
    sequence_world,
    serve_env,
)
from tests.app.serve_harness import serve_process, session_pids, still_running
from tests.app.webhook_harness import free_port, wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn
from tests.scripted_model.script import Stall, Turn, tool_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO

pytestmark = pytest.mark.slow


def _jobs(database_url: str, number: int) -> list[Job]:
    database = open_database(database_url, run_migrations=False)
    try:
        with database.sessions() as db:
            return list(store.jobs_for_issue(db, REPO, number))
    finally:
        database.dispose()


def _ended(database_url: str, number: int, count: int) -> bool:
    jobs = _jobs(database_url, number)
    return len(jobs) == count and all(j.state in store.TERMINAL_STATES for j in jobs)


def test_initializer_twice_then_serve_killed_mid_sequence_resumes(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = sequence_world(github_emulator)
    port = free_port()
    github_emulator.set_webhook_url(world.app.id, f"http://127.0.0.1:{port}/api/github/webhooks")
    spec = world.open_issue("Shop app", "Build a shop.")
    login, cart, search = spec + 1, spec + 2, spec + 3
    [write_cart, *rest_of_cart] = feature_turns(cart)
    turns = [
        *initializer_turns(),
        # the initializer again: the same three features, asked for once more
        tool_turn("feature_create_bulk", {"features": FEATURES}),
        final_turn("The features exist already."),
        # and once more, asked for with /autocoder retry on the spec
        tool_turn("feature_create_bulk", {"features": FEATURES}),
        final_turn("Still the same three features."),
        *feature_turns(login),
        # Cart's first model request hangs: the kill lands there; the rerun gets the turn
        Turn(tool_calls=write_cart.tool_calls, stall=Stall(seconds=300, times=1)),
        *rest_of_cart,
        *feature_turns(search),
    ]
    with running_model_server("openai", turns) as model, receiving(fail_first=False) as receiver:
        env = serve_env(
            world,
            tmp_path,
            model.base_url,
            receiver.url,
            AUTOCODER_GITHUB_SECONDS_BETWEEN_WRITES="0",
            AUTOCODER_LEASE_SECONDS="5",
            AUTOCODER_HEARTBEAT_SECONDS="0.5",
            AUTOCODER_MAX_ATTEMPTS="1",  # the interruption must not use it up
        )
        database_url = env["AUTOCODER_DATABASE_URL"]
        maintainer = github_emulator.act_as(MAINTAINER)
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port) as first:
            maintainer.label_issue(REPO, spec, "autocoder:spec")
            wait_for(lambda: _ended(database_url, spec, 1), 180, "the initializer to end")
            maintainer.unlabel_issue(REPO, spec, "autocoder:spec")
            maintainer.label_issue(REPO, spec, "autocoder:spec")
            wait_for(lambda: _ended(database_url, spec, 2), 180, "the second initializer")
            maintainer.comment(REPO, spec, "/autocoder retry")
            wait_for(lambda: _ended(database_url, spec, 3), 180, "the initializer on retry")
            jobs = _jobs(database_url, spec)
            assert [j.kind for j in jobs] == ["initialize"] * 3
            assert [j.state for j in jobs] == ["succeeded"] * 3
            features = [
                n for n, labels in labels_of(world).items() if "autocoder:feature" in labels
            ]
            assert sorted(features) == [login, cart, search], "no feature was created twice"
            subs = world.api(f"/repos/{REPO}/issues/{spec}/sub_issues")
            assert [s["number"] for s in subs] == [login, cart, search]
            blockers = world.api(f"/repos/{REPO}/issues/{cart}/dependencies/blocked_by")
            assert [b["number"] for b in blockers] == [login]

            maintainer.label_issue(REPO, spec, "autocoder:auto")
            wait_for(
                lambda: any(r.role == "stall" for r in model.requests),
                300,
                "Cart's session to reach its stalled model turn",
            )
            assert "autocoder:passing" in labels_of(world)[login]
            sessions = session_pids(first.pid)
            assert len(sessions) == 1, sessions
            session_group = os.getpgid(sessions[0])
            os.killpg(first.pid, signal.SIGKILL)  # the server, and its session with it
            first.wait()
            os.killpg(session_group, signal.SIGKILL)
            wait_for(lambda: not still_running(sessions[0]), 40, "the session to end")

        env["AUTOCODER_LEASE_SECONDS"] = "2"
        with serve_process(env, log, port=port):
            body = wait_for(lambda: progress(world, spec, "finished"), 300, "3/3 after restart")
            assert "3/3 features passing" in body, body
            wait_for(lambda: receiver.delivered() == [1, 2, 3], 30, "one delivery per feature")

    for number in (login, cart, search):
        jobs = _jobs(database_url, number)
        assert [j.state for j in jobs] == ["succeeded"], (number, [j.state for j in jobs])
        assert len(pulls_for(world, number)) == 1, number
    [cart_job] = _jobs(database_url, cart)
    assert (cart_job.attempts, cart_job.interruptions) == (1, 1)
    assert all("autocoder:passing" in labels_of(world)[n] for n in (login, cart, search))
    assert model.state.player.turns_served == len(turns), log.read_text()[-3000:]
    assert receiver.delivered() == [1, 2, 3]
