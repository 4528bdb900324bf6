"""End to end: `autocoder serve` as a real process on loopback, the GitHub emulator and a scripted
model. The test talks to the app only through webhooks: labelling an issue yields a draft pull
request and a completed check run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.webhook_harness import free_port, wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import check_runs_for, final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "autocoder", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:

            def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"serve exited: {log.read_text()}")
                try:
                    return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(healthy, timeout=30, what="autocoder serve to answer /healthz")
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_label_yields_a_draft_pull_request_and_a_completed_check_run(
    world: World, tmp_path: Path
) -> None:
    turns = [
        write_turn("openai", "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    with running_model_server("openai", turns) as model:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTOCODER_")},
            **world.runner_env(
                tmp_path / "cache",
                AUTOCODER_ENGINE="openai",
                AUTOCODER_BASE_URL=model.base_url,
                AUTOCODER_MODEL="scripted",
                AUTOCODER_API_KEY="sk-model-key-for-tests",
                AUTOCODER_MAX_TURNS="10",
                AUTOCODER_WEBHOOK_SECRET=world.app.webhook_secret,
                AUTOCODER_DATABASE_URL=f"sqlite:///{tmp_path / 'serve' / 'autocoder.db'}",
                AUTOCODER_RECONCILE_INTERVAL="0",
                AUTOCODER_POLL_SECONDS="0.2",
            ),
            "HOME": str(tmp_path / "home"),
        }
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")

            def pull() -> dict[str, Any] | None:
                pulls = [p for p in open_pulls(world) if f"#{number}" in (p["body"] or "")]
                return pulls[0] if pulls else None

            pr = wait_for(pull, timeout=180, what="the pull request")
            assert pr["draft"] is True
            assert pr["head"]["ref"].startswith(f"autocoder/issue-{number}")

            def completed() -> list[dict[str, Any]]:
                runs = check_runs_for(world, pr["head"]["sha"])
                return [r for r in runs if r["name"] == "autocoder" and r["status"] == "completed"]

            [run] = wait_for(completed, timeout=60, what="the completed check run")
            assert run["conclusion"] == "success"
            labelled = [
                d
                for d in world.emulator.deliveries()
                if (d.event, d.action) == ("issues", "labeled")
            ]
            assert [d.status_code for d in labelled] == [202]
            features = httpx.get(f"{url}/api/repos/{REPO}/features").json()["features"]
            assert [f["number"] for f in features] == [number]
            metrics = httpx.get(f"{url}/metrics").text
            assert (
                'autocoder_webhook_deliveries_total{event="issues",outcome="processed"}' in metrics
            )
