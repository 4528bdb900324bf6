"""End to end with the container executor: `autocoder serve` on the host with
`AUTOCODER_EXECUTOR=docker` under a real engine (podman in CI, set up by .ci/run), the GitHub
emulator and a scripted model on loopback (`--network=host`). Labelling an issue runs the session
in a container from the project's image and yields a draft pull request and a completed check
run, whose report says the agent's commands ran in bubblewrap inside the container. The server's
SQLite database and App key stay on the host (tests/app/test_executor_docker.py shows that a
container started the same way cannot read them)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.app.container_harness import project_image
from tests.app.serve_harness import scripted_serve_env, serve
from tests.app.test_serve_e2e import wait_for_pull
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import check_runs_for, final_turn, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


def test_a_labelled_issue_yields_a_pull_request_from_a_session_in_a_container(
    world: World, tmp_path: Path
) -> None:
    built = project_image()
    turns = [
        write_turn("openai", "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    server_dir = tmp_path / "serve"
    with running_model_server("openai", turns) as model:
        env = scripted_serve_env(
            world,
            tmp_path,
            model.base_url,
            AUTOCODER_DATABASE_URL=f"sqlite:///{server_dir / 'autocoder.db'}",
            AUTOCODER_EXECUTOR="docker",
            AUTOCODER_CONTAINER_ENGINE=built.engine,
            AUTOCODER_DOCKER_IMAGE=built.image,
            AUTOCODER_DOCKER_NETWORK="host",
        )
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
            labelled = time.monotonic()
            world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            pr = wait_for_pull(world, number)
            seconds = time.monotonic() - labelled
            assert pr["draft"] is True
            assert pr["head"]["ref"].startswith(f"autocoder/issue-{number}")
            farewell = world.git("show", f"{pr['head']['sha']}:farewell.py")
            assert "return 'bye'" in farewell

            def completed() -> list[dict[str, Any]]:
                runs = check_runs_for(world, pr["head"]["sha"])
                return [r for r in runs if r["name"] == "autocoder" and r["status"] == "completed"]

            [run] = wait_for(completed, timeout=60, what="the completed check run")
            assert run["conclusion"] == "success"
            report = (run["output"]["summary"] or "") + (run["output"]["text"] or "")
            # The container is the sandbox, and bubblewrap works inside it (no network).
            assert "Sandbox: bubblewrap inside the session's container: network off" in report
    logs = sorted((server_dir / "sessions").glob("job-*.log"))
    assert logs, "the session's stderr is kept on the host"
    print(f"label -> pull request with the container executor: {seconds:.1f} s")
