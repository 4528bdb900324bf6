"""Issue #14 in the GitHub Action: `kill -9` of an `autocoder action` step midway. The Action has
no database, so each checkpoint also pushes its conversation as a git note on the checkpoint
commit (`refs/notes/autocoder/<branch>`, `runner.checkpoint_notes`). The next workflow run on
the same issue reads it from there and resumes: the model's request log shows the earlier
turns in the resumed conversation; the run finishes; exactly one pull request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.conversation_state import RESUME_NOTE
from tests.action.actions_run import (
    actions_env,
    issue_event,
    openai_settings,
    parse_output_file,
    run_step,
)
from tests.action.test_action_e2e import _actions_token
from tests.app.continuity_harness import branch_file, conversation, said
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, make_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def _wait(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_killed_action_run_resumes_in_the_next_run_from_the_branch(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add two files", "Please add one.txt and two.txt.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    second = write_turn("openai", "two.txt", "Two!\n")
    turns = [
        write_turn("openai", "one.txt", "One!\n"),
        Turn(text=second.text, tool_calls=second.tool_calls, stall=Stall(seconds=120)),
        final_turn("Added one.txt and two.txt."),
    ]
    token = _actions_token(world)
    with running_model_server("openai", turns) as model:
        settings = {
            **openai_settings(model.base_url),
            "GITHUB_TOKEN": token,
            "AUTOCODER_CHECKPOINT_MINUTES": "0.02",  # a checkpoint about every second
        }
        first_dir = tmp_path / "run-1"
        env = actions_env(world, first_dir, "issues", payload, actor=MAINTAINER, **settings)
        log = first_dir / "stdout.txt"
        with log.open("w") as out:
            step = subprocess.Popen(
                [sys.executable, "-m", "autocoder", "action"],
                env=env,
                cwd=first_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait(lambda: model.recorder.with_role("stall"), 90, "the model's held answer")
                _wait(lambda: branch_file(world, "one.txt"), 60, "the checkpoint's push")
                _wait(
                    lambda: world.git("for-each-ref", "refs/notes/autocoder").strip(),
                    30,
                    "the checkpoint's resume note:\n" + log.read_text(),
                )
                time.sleep(1.5)  # a checkpoint interval more
            finally:
                os.kill(step.pid, signal.SIGKILL)  # kill -9 of the Action's step, midway
                step.wait(30)
        assert step.returncode == -signal.SIGKILL
        assert open_pulls(world) == []  # the killed run opened nothing

        # The next workflow run on the same issue (a new runner: nothing local survives).
        second_dir = tmp_path / "run-2"
        env = actions_env(world, second_dir, "issues", payload, actor=MAINTAINER, **settings)
        env["GITHUB_RUN_ID"] = "4243"
        run = run_step(env, second_dir)
        assert run.exit_code == 0, run.describe()
        outputs = parse_output_file(run.output_text)
        assert outputs["conclusion"] == "success", run.describe()
        assert "resuming the conversation" in run.stdout

        requests = conversation(model.requests)
        resumed = next(r for r in requests if RESUME_NOTE in said(r))
        assert '"one.txt"' in said(resumed), said(resumed)  # the earlier turn, as it was
        assert resumed.body["messages"][-1]["content"] == RESUME_NOTE
        assert model.turns_served == 3  # nothing asked twice but the held answer

    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["html_url"] for p in pulls]
    branch = pulls[0]["head"]["ref"]
    assert world.git("show", f"{branch}:one.txt") == "One!\n"
    assert world.git("show", f"{branch}:two.txt") == "Two!\n"
