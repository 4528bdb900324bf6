"""Issue #14, in the App with the local executor: `kill -9` of a session midway. Its checkpoint
had already pushed the first file and recorded the conversation; the worker's next attempt
resumes it — the model's request log shows the earlier turns in the resumed conversation, with
the note that it resumes — and finishes: exactly one pull request, holding both files.

The model holds its second answer (a scripted stall) while the checkpoint (every ~1 s) pushes;
the kill lands during that wait.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from runner.conversation_state import RESUME_NOTE
from tests.app.continuity_harness import (
    branch_file,
    conversation,
    only_job,
    roles,
    said,
    serve_env,
    terminal_job,
)
from tests.app.serve_harness import serve_process, session_pids, still_running
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

pytestmark = pytest.mark.slow


def test_kill_9_midway_resumes_the_conversation_from_the_last_checkpoint(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add two files", "Please add one.txt and two.txt.")
    second = write_turn("openai", "two.txt", "Two!\n")
    turns = [
        write_turn("openai", "one.txt", "One!\n"),
        Turn(text=second.text, tool_calls=second.tool_calls, stall=Stall(seconds=60)),
        final_turn("Added one.txt and two.txt."),
    ]
    with running_model_server("openai", turns) as model:
        env, port, database_url = serve_env(
            world, github_emulator, tmp_path, model.base_url, AUTOCODER_CHECKPOINT_MINUTES="0.02"
        )
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port) as server:
            github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            (session,) = wait_for(lambda: session_pids(server.pid), 90, "the session to start")
            wait_for(lambda: model.recorder.with_role("stall"), 90, "the model's held answer")
            wait_for(lambda: branch_file(world, "one.txt"), 60, "the checkpoint's push")
            time.sleep(1.5)  # a checkpoint interval more: its conversation is recorded too
            os.kill(session, signal.SIGKILL)  # kill -9 of the session, midway
            wait_for(lambda: not still_running(session), 30, "the session to die")
            job = only_job(database_url, REPO, number)
            done = wait_for(lambda: terminal_job(database_url, job.id), 120, "the job to end")

        assert done.state == "succeeded", (done.error, log.read_text()[-4000:])
        requests = conversation(model.requests)
        # The first request after the kill continues the conversation: the earlier turn (the
        # call that wrote one.txt and its result), then the note that the session resumes.
        resumed = next(r for r in requests if RESUME_NOTE in said(r))
        assert '"one.txt"' in said(resumed), said(resumed)
        assert roles(resumed)[:5] == ["system", "user", "assistant", "tool", "user"]
        assert resumed.body["messages"][-1]["content"] == RESUME_NOTE
        assert model.turns_served == 3  # nothing asked twice but the held answer

    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:one.txt") == "One!\n"
    assert world.git("show", f"{branch}:two.txt") == "Two!\n"
    messages = world.git("log", "--format=%B", f"main..{branch}")
    assert "Autocoder-Checkpoint: 1" in messages  # the kill's survivor: the checkpoint
