"""Issue #14, in the App with the container executor: the session's container is killed
(`podman kill --signal KILL`) midway. Its checkpoint had already pushed the first file and
recorded the conversation (a `resume_state` event on the container's stdout, kept by the worker
on the host); the worker's next attempt, in a new container, resumes it — the model's request
log shows the earlier turns in the resumed conversation, with the note that it resumes — and
finishes: exactly one pull request, holding both files.

The same scenario as tests/app/test_resume_e2e.py (the local executor): the model holds its
second answer (a scripted stall) while the checkpoint (every ~1 s) pushes; the kill lands during
that wait. The container is found by its name on the command line of the `<engine> run` client
the server started, so containers of other tests (whose job ids may be the same) are left alone.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from runner.conversation_state import RESUME_NOTE
from tests.app.container_harness import project_image
from tests.app.continuity_harness import (
    branch_file,
    conversation,
    only_job,
    roles,
    said,
    serve_env,
    terminal_job,
)
from tests.app.serve_harness import serve_process, still_running
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

pytestmark = pytest.mark.slow


def session_containers(server_pid: int) -> dict[str, int]:
    """The containers the server's children run sessions in: each `<engine> run --name N`
    client process (read from /proc), by container name, with the client's pid."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [a.decode() for a in (entry / "cmdline").read_bytes().split(b"\0")]
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent != server_pid or "run" not in argv[1:3] or "--name" not in argv:
            continue
        name = argv[argv.index("--name") + 1]
        if name.startswith("autocoder-job-"):
            found[name] = int(entry.name)
    return found


def test_killing_the_session_container_midway_resumes_the_conversation(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    built = project_image()
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
            world,
            github_emulator,
            tmp_path,
            model.base_url,
            AUTOCODER_CHECKPOINT_MINUTES="0.02",
            AUTOCODER_EXECUTOR="docker",
            AUTOCODER_CONTAINER_ENGINE=built.engine,
            AUTOCODER_DOCKER_IMAGE=built.image,
            AUTOCODER_DOCKER_NETWORK="host",
        )
        log = tmp_path / "serve.log"
        with serve_process(env, log, port=port) as server:
            github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            containers = wait_for(lambda: session_containers(server.pid), 120, "the container")
            ((name, client),) = containers.items()
            wait_for(lambda: model.recorder.with_role("stall"), 120, "the model's held answer")
            wait_for(lambda: branch_file(world, "one.txt"), 60, "the checkpoint's push")
            time.sleep(1.5)  # a checkpoint interval more: its conversation is recorded too
            killed = subprocess.run(
                [built.engine, "kill", "--signal", "KILL", name],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
            assert killed.returncode == 0, killed.stderr
            wait_for(lambda: not still_running(client), 30, "the container's client to end")
            job = only_job(database_url, REPO, number)
            done = wait_for(lambda: terminal_job(database_url, job.id), 240, "the job to end")
            assert name not in session_containers(server.pid)

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
