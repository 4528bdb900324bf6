"""End to end: labels added while `autocoder serve` was down are judged by who added them, at
start-up and on every periodic reconcile. A maintainer's label yields a pull request; a
triage user's never does, however often the reconcile runs (issue #9)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import mirror
from app.db.engine import open_database
from tests.app.serve_harness import scripted_serve_env, serve
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow

TRIAGER = "trina"


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


def _reconciles(url: str) -> float:
    metrics = httpx.get(f"{url}/metrics").text
    counts = re.findall(r"^autocoder_reconciles_total\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
    return sum(float(c) for c in counts)


def test_start_up_and_periodic_reconcile_start_work_only_for_write_access(
    world: World, tmp_path: Path
) -> None:
    world.emulator.add_user(TRIAGER, "triage", REPO)
    # While the server is down: a triage user and a maintainer each label an issue.
    refused = world.open_issue("Add a greeting", "Please add hello.py.")
    world.emulator.act_as(TRIAGER).label_issue(REPO, refused, "autocoder")
    wanted = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, wanted, "autocoder")

    db_url = f"sqlite:///{tmp_path / 'serve.db'}"
    database = open_database(db_url)  # the server knew the repository before it went down
    with database.sessions() as db, db.begin():
        mirror.upsert_repository(db, REPO, installation_id=world.installation_id)
    database.dispose()

    turns = [
        write_turn("openai", "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    with running_model_server("openai", turns) as model:
        env = scripted_serve_env(
            world,
            tmp_path,
            model.base_url,
            AUTOCODER_DATABASE_URL=db_url,
            AUTOCODER_RECONCILE_INTERVAL="0.5",
        )
        with serve(env, tmp_path / "serve.log") as url:

            def pulls_for(number: int) -> list[dict[str, Any]]:
                return [p for p in open_pulls(world) if f"#{number}" in (p["body"] or "")]

            [pr] = wait_for(lambda: pulls_for(wanted), timeout=180, what="the pull request")
            assert pr["head"]["ref"].startswith(f"autocoder/issue-{wanted}")
            # Something changes on the refused issue, so the periodic reconcile reads it again.
            world.emulator.act_as(MAINTAINER).comment(REPO, refused, "any news?")
            seen = _reconciles(url)
            wait_for(lambda: _reconciles(url) >= seen + 3, timeout=30, what="three more reconciles")

            assert pulls_for(refused) == []
            branches = [b["name"] for b in world.api(f"/repos/{REPO}/branches")]
            assert not any(b.startswith(f"autocoder/issue-{refused}") for b in branches)
            comments = world.api(f"/repos/{REPO}/issues/{refused}/comments")
            said = [c["body"] for c in comments if c["user"]["login"] == world.app.bot_login]
            assert len(said) == 1 and f"@{TRIAGER} has read access" in said[0], said
            features = httpx.get(f"{url}/api/repos/{REPO}/features").json()["features"]
            status = {f["number"]: f["agent_status"] for f in features}
            assert status[refused] == "pending"
