"""End to end, a spend cap across sessions holds across a server restart: `autocoder serve` (a
real process, real SQLite) runs a session that hits the repository's daily cap — the check run
names it and the work is pushed — and, after a restart, the next job for that repository starts
no session and says so on its issue, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.app.serve_harness import serve
from tests.app.test_serve_e2e import clean_env, wait_for_pull
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import check_runs_for, command_turn, final_turn, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow

CAP = "spend cap per repository per day reached"


def comments_on(world: World, number: int) -> list[str]:
    comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
    return [str(c["body"]) for c in comments]


def test_a_daily_repository_cap_holds_across_a_server_restart(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    database = tmp_path / "serve" / "autocoder.db"
    turns = [
        write_turn("openai", "partial.txt", "some work\n"),
        *[command_turn("openai", f"echo step {n}") for n in range(12)],
        final_turn("never reached"),
    ]
    with running_model_server("openai", turns) as model:
        env = clean_env(tmp_path) | world.runner_env(
            tmp_path / "cache",
            AUTOCODER_ENGINE="openai",
            AUTOCODER_BASE_URL=model.base_url,
            AUTOCODER_MODEL="scripted",
            AUTOCODER_API_KEY="sk-model-key-for-tests",
            # About a token per 4 characters at $1000 per million: each turn costs dollars.
            AUTOCODER_INPUT_USD_PER_MTOK="1000",
            AUTOCODER_OUTPUT_USD_PER_MTOK="1000",
            AUTOCODER_MAX_TURNS="30",
            AUTOCODER_MAX_COST_USD="50",
            AUTOCODER_MAX_COST_USD_PER_REPOSITORY_DAY="1.5",
            AUTOCODER_WEBHOOK_SECRET=world.app.webhook_secret,
            AUTOCODER_DATABASE_URL=f"sqlite:///{database}",
            AUTOCODER_RECONCILE_INTERVAL="0",
            AUTOCODER_POLL_SECONDS="0.2",
        )
        with serve(env, tmp_path / "serve-1.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            first = world.open_issue("Spend", "Do many steps.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, first, "autocoder")
            pr = wait_for_pull(world, first)

            def completed() -> list[dict[str, Any]]:
                runs = check_runs_for(world, pr["head"]["sha"])
                return [r for r in runs if r["status"] == "completed"]

            [run] = wait_for(completed, timeout=60, what="the completed check run")
        assert run["conclusion"] == "failure"
        assert CAP in run["output"]["summary"].lower(), run["output"]["summary"]
        assert world.git("show", f"{pr['head']['sha']}:partial.txt") == "some work\n"
        served = model.turns_served
        with sqlite3.connect(database) as db:
            [(spent,)] = db.execute("SELECT sum(cost_usd) FROM sessions").fetchall()
        assert spent >= 1.5, "the attempt's spend is in the database"

        with serve(env, tmp_path / "serve-2.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            second = world.open_issue("More", "Another change.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, second, "autocoder")

            def refusal() -> list[str]:
                return [c for c in comments_on(world, second) if "did not start" in c]

            [said] = wait_for(refusal, timeout=60, what="the refusal on the issue")
            assert CAP in said
            # Triggered again the same day: refused again, and not said twice.
            world.emulator.act_as(MAINTAINER).unlabel_issue(REPO, second, "autocoder")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, second, "autocoder")

            def two_failed_jobs() -> bool:
                with sqlite3.connect(database) as db:
                    rows = db.execute(
                        "SELECT state, error FROM jobs WHERE issue_number = ?", (second,)
                    ).fetchall()
                return len(rows) == 2 and all(state == "failed" for state, _ in rows)

            wait_for(two_failed_jobs, timeout=60, what="the second refusal")
            with sqlite3.connect(database) as db:
                errors = [
                    e
                    for (e,) in db.execute(
                        "SELECT error FROM jobs WHERE issue_number = ?", (second,)
                    )
                ]
            assert all(CAP in (e or "") for e in errors), errors
            assert len(refusal()) == 1
        assert model.turns_served == served, "no session asked the model after the cap"
        assert [
            p
            for p in world.api(f"/repos/{REPO}/pulls?state=all")
            if f"#{second}" in (p["body"] or "")
        ] == []
