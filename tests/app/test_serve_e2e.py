"""End to end: `autocoder serve` as a real process on loopback, the GitHub emulator and a scripted
model. The test talks to the app only through webhooks: labelling an issue yields a draft pull
request and a completed check run — also when the model and runner settings live only in the
`.env` file (both engines). A broken `.env` stops start-up naming the file and line; a server
without a model says `degraded` and answers a labelled issue with one explanatory comment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.serve_harness import scripted_serve_env, serve
from tests.app.webhook_harness import free_port, wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    check_runs_for,
    final_turn,
    model_kind,
    open_pulls,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


def test_label_yields_a_draft_pull_request_and_a_completed_check_run(
    world: World, tmp_path: Path
) -> None:
    turns = [
        write_turn("openai", "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    with running_model_server("openai", turns) as model:
        env = scripted_serve_env(world, tmp_path, model.base_url)
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            pr = wait_for_pull(world, number)
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


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The test's environment without any autocoder or model setting."""
    prefixes = ("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_", "OPENAI_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(prefixes)},
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }


def dotenv_line(name: str, value: str) -> str:
    return f"{name}={json.dumps(value)}\n"  # double quotes; the PEM's newlines as \n


def wait_for_pull(world: World, number: int) -> dict[str, Any]:
    def pull() -> dict[str, Any] | None:
        pulls = [p for p in open_pulls(world) if f"#{number}" in (p["body"] or "")]
        return pulls[0] if pulls else None

    pr: dict[str, Any] = wait_for(pull, timeout=180, what="the pull request")
    return pr


@pytest.mark.parametrize("engine", ["openai", "claude"])
def test_model_and_runner_settings_only_in_dotenv_reach_the_session(
    world: World, tmp_path: Path, engine: str
) -> None:
    turns = [
        write_turn(engine, "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    with running_model_server(model_kind(engine), turns) as model:
        settings = world.runner_env(
            tmp_path / "cache",
            AUTOCODER_ENGINE=engine,
            AUTOCODER_MAX_TURNS="10",
            AUTOCODER_WEBHOOK_SECRET=world.app.webhook_secret,
            AUTOCODER_DATABASE_URL=f"sqlite:///{tmp_path / 'serve' / 'autocoder.db'}",
            AUTOCODER_RECONCILE_INTERVAL="0",
            AUTOCODER_POLL_SECONDS="0.2",
        )
        if engine == "openai":
            settings |= {
                "AUTOCODER_BASE_URL": model.base_url,
                "AUTOCODER_API_KEY": "sk-model-key-for-tests",
                "AUTOCODER_MODEL": "scripted",
            }
        else:
            settings |= {
                "ANTHROPIC_BASE_URL": model.base_url,
                "ANTHROPIC_API_KEY": "sk-ant-key-for-tests",
            }
        home = tmp_path / "server"
        home.mkdir()
        (home / ".env").write_text(
            "# autocoder serve\n" + "".join(dotenv_line(k, v) for k, v in settings.items())
        )
        log = tmp_path / "serve.log"
        with serve(clean_env(tmp_path), log, cwd=home) as url:
            health = httpx.get(f"{url}/healthz").json()
            assert health["status"] == "ok", health
            assert health["engine"] == {"ready": True, "name": engine}
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
            pr = wait_for_pull(world, number)
            assert pr["head"]["ref"].startswith(f"autocoder/issue-{number}")
            farewell = world.git("show", f"{pr['head']['sha']}:farewell.py")
            assert "return 'bye'" in farewell

            def finished() -> bool:
                return "pull request http" in log.read_text()

            wait_for(finished, timeout=60, what="serve to log the finished job's PR")
        text = log.read_text()
        # Which settings it ran with (secrets masked) and where session logs go.
        assert "AUTOCODER_MAX_TURNS=10 (.env)" in text
        assert "sessions" in text and "session logs go to" in text
        for secret in ("sk-model-key-for-tests", "sk-ant-key-for-tests", "BEGIN RSA"):
            assert secret not in text
        assert world.app.webhook_secret not in text
        # The workers started only once the port was bound.
        assert text.index("Uvicorn running on") < text.index("worker(s) started")


def test_a_broken_dotenv_stops_start_up_with_file_and_line(tmp_path: Path) -> None:
    home = tmp_path / "server"
    home.mkdir()
    (home / ".env").write_text(
        "AUTOCODER_ENGINE=openai\n# the endpoint\nAUTOCODER_BASE_URL http://localhost:1/v1\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "autocoder", "serve", "--port", str(free_port())],
        env=clean_env(tmp_path),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"{home / '.env'}:3" in done.stderr
    assert "Uvicorn running" not in done.stderr + done.stdout


def test_without_a_model_serve_is_degraded_and_an_issue_gets_one_comment(
    world: World, tmp_path: Path
) -> None:
    env = {
        **clean_env(tmp_path),
        **world.runner_env(
            tmp_path / "cache",
            AUTOCODER_WEBHOOK_SECRET=world.app.webhook_secret,
            AUTOCODER_DATABASE_URL=f"sqlite:///{tmp_path / 'serve' / 'autocoder.db'}",
            AUTOCODER_RECONCILE_INTERVAL="0",
            AUTOCODER_POLL_SECONDS="0.2",
        ),
    }
    log = tmp_path / "serve.log"
    with serve(env, log, cwd=tmp_path) as url:
        health = httpx.get(f"{url}/healthz").json()
        assert health["status"] == "degraded"
        assert health["engine"]["ready"] is False
        assert "ANTHROPIC_API_KEY" in health["engine"]["problem"]
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
        acting = world.emulator.act_as(MAINTAINER)

        def bot_comments() -> list[dict[str, Any]]:
            comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
            return [c for c in comments if c["user"]["login"] == world.app.bot_login]

        def jobs_done(count: int) -> bool:
            return log.read_text().count("not started: ") >= count

        acting.label_issue(REPO, number, "autocoder")
        wait_for(lambda: jobs_done(1), timeout=60, what="the job to be refused")
        wait_for(bot_comments, timeout=10, what="the comment")
        [comment] = bot_comments()
        assert "not configured with a model" in comment["body"]
        assert "ANTHROPIC_API_KEY" in comment["body"]
        sha = world.git("rev-parse", "main").strip()
        assert check_runs_for(world, sha) == []
        assert "session started as process" not in log.read_text(), "no session was launched"
    assert "no session can run" in log.read_text()
