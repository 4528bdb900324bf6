"""Issue #14, in the App: a scripted usage-limit answer (429 with a `retry-after` beyond what
the session may wait) pauses the session instead of failing it — work pushed, the check run says
"Paused until T (model quota)", the job queued again for T without using an attempt — and it
resumes by itself after the time, continues its conversation and completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.conversation_state import RESUME_NOTE
from tests.app.continuity_harness import (
    all_check_runs,
    conversation,
    only_job,
    said,
    serve_env,
    terminal_job,
)
from tests.app.serve_harness import serve_process
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Fault, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

pytestmark = pytest.mark.slow


def test_a_usage_limit_pauses_the_session_and_it_resumes_by_itself(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add two files", "Please add one.txt and two.txt.")
    second = write_turn("openai", "two.txt", "Two!\n")
    turns = [
        write_turn("openai", "one.txt", "One!\n"),
        Turn(
            text=second.text,
            tool_calls=second.tool_calls,
            fault=Fault(status=429, times=1, retry_after=3, message="Usage limit reached."),
        ),
        final_turn("Added one.txt and two.txt."),
    ]
    with running_model_server("openai", turns) as model:
        env, port, database_url = serve_env(
            world,
            github_emulator,
            tmp_path,
            model.base_url,
            AUTOCODER_QUOTA_WAIT_SECONDS="1",  # a 3 s retry-after is "beyond" it: pause
            AUTOCODER_CHECKPOINT_MINUTES="0",
        )
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port):
            github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            paused = wait_for(
                lambda: [r for r in all_check_runs(world) if "Paused" in r["output"]["title"]],
                90,
                "a check run that says the session is paused",
            )
            job = only_job(database_url, REPO, number)
            done = wait_for(lambda: terminal_job(database_url, job.id), 120, "the job to end")

        assert done.state == "succeeded", (done.error, log.read_text()[-4000:])
        assert done.attempts == 1  # the pause used no attempt
        assert "(model quota)" in paused[0]["output"]["title"]
        assert "resumes by itself" in paused[0]["output"]["summary"]
        resumed = next(r for r in conversation(model.requests) if RESUME_NOTE in said(r))
        assert '"one.txt"' in said(resumed)
        assert model.turns_served == 3

    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:one.txt") == "One!\n"
    assert world.git("show", f"{branch}:two.txt") == "Two!\n"
