"""End to end (issue #13), `autocoder serve` on loopback with the GitHub emulator and a scripted
OpenAI-compatible model: a spec issue labelled `autocoder:spec` yields feature issues (test
steps, priorities, sub-issues of the spec, blocked-by); labelled `autocoder:auto`, the features
run one session each, in dependency and priority order, each on its own branch stacked on the
one before, each with its own pull request and check run naming it; the runner's checks (the
repository's test_command per feature) decide passing; a scripted regression of an earlier
feature keeps the new one from passing and is named; `/autocoder resume` goes on; at N/N the
spec's progress comment says so and the sequence stops. The notification receiver gets the
signed `test_progress` deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.test_serve_e2e import serve
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import check_runs_for, final_turn, open_pulls, write_turn
from tests.scripted_model.script import Turn, tool_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow

SECRET = "notify-secret-for-tests"
CHECK = 'test "$(cat "features/$AUTOCODER_FEATURE" 2>/dev/null)" = ok\n'
CONFIG = "test_command: sh check.sh\n"


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(
        github_emulator,
        {"README.md": "# shop\n", "check.sh": CHECK, ".github/autocoder.yml": CONFIG},
    )


class Receiver:
    """Records notification deliveries; answers 500 to the first one."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], bool, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.received else 200
                signature = self.headers.get("X-Autocoder-Signature-256")
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                receiver.received.append((json.loads(body), signature == expected, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()


def feature_turns(number: int, *, also: list[Turn] | None = None) -> list[Turn]:
    return [
        write_turn("openai", f"features/{number}", "ok"),
        *(also or []),
        tool_turn("feature_mark_passing", {}),
        final_turn(f"Feature #{number} works."),
    ]


def test_spec_to_features_to_sessions_in_sequence(world: World, tmp_path: Path) -> None:
    spec = world.open_issue("Shop app", "Build a shop. The spec: `prompts/app_spec.txt`.")
    login, cart, search = spec + 1, spec + 2, spec + 3  # created in this order
    features = [
        {
            "title": "Login",
            "description": "People sign in.",
            "steps": ["Open /login", "Sign in as mona"],
            "category": "functional",
            "priority": 2,
        },
        {
            "title": "Cart",
            "description": "Add items to a cart.",
            "steps": ["Add an item", "See it in the cart"],
            "priority": 1,
            "depends_on": [0],
        },
        {"title": "Search", "description": "Find items.", "steps": ["Search"], "priority": 3},
    ]
    turns = [
        tool_turn("feature_create_bulk", {"features": features}),
        write_turn("openai", "init.sh", "#!/bin/sh\necho ready\n"),
        final_turn("Created the features, the skeleton and init.sh."),
        *feature_turns(login),  # Login (priority 2) first: Cart waits on it
        *feature_turns(cart),  # then Cart (priority 1, now unblocked), before Search
        # Search breaks Login: the regression keeps Search from passing
        *feature_turns(search, also=[write_turn("openai", f"features/{login}", "broken")]),
        # after /autocoder resume: Search again, Login repaired
        *feature_turns(search, also=[write_turn("openai", f"features/{login}", "ok")]),
    ]
    with running_model_server("openai", turns) as model, receiving() as receiver:
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
                AUTOCODER_NOTIFY_URL=receiver.url,
                AUTOCODER_NOTIFY_SECRET=SECRET,
            ),
            "HOME": str(tmp_path / "home"),
        }
        maintainer = world.emulator.act_as(MAINTAINER)
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            maintainer.label_issue(REPO, spec, "autocoder:spec")

            def pull_for(number: int) -> list[dict[str, Any]]:
                prefix = f"autocoder/issue-{number}-"
                return [p for p in open_pulls(world) if p["head"]["ref"].startswith(prefix)]

            wait_for(lambda: pull_for(spec), timeout=180, what="the initializer's pull request")
            issues = {i["number"]: i for i in world.api(f"/repos/{REPO}/issues?state=all")}
            for number in (login, cart, search):
                labels = {label["name"] for label in issues[number]["labels"]}
                assert "autocoder:feature" in labels
                assert "## Test steps" in issues[number]["body"]
            assert "**Priority:** 1" in issues[cart]["body"]
            subs = world.api(f"/repos/{REPO}/issues/{spec}/sub_issues")
            assert [s["number"] for s in subs] == [login, cart, search]
            blockers = world.api(f"/repos/{REPO}/issues/{cart}/dependencies/blocked_by")
            assert [b["number"] for b in blockers] == [login]

            maintainer.label_issue(REPO, spec, "autocoder:auto")

            def stopped() -> str | None:
                comments = world.api(f"/repos/{REPO}/issues/{spec}/comments")
                bodies = [c["body"] for c in comments if "autocoder:progress" in c["body"]]
                return bodies[0] if bodies and "Sequence: stopped" in bodies[0] else None

            progress = wait_for(stopped, timeout=400, what="the sequence to stop at Search")
            assert "2/3 features passing" in progress
            [search_pull] = pull_for(search)
            runs = check_runs_for(world, search_pull["head"]["sha"])
            [run] = [r for r in runs if r["status"] == "completed"]
            assert f"Feature #{search} (Search): not passing" in run["output"]["summary"]
            assert f"regression in #{login}" in run["output"]["summary"]

            maintainer.comment(REPO, spec, "/autocoder resume")

            def finished() -> str | None:
                comments = world.api(f"/repos/{REPO}/issues/{spec}/comments")
                bodies = [c["body"] for c in comments if "autocoder:progress" in c["body"]]
                return bodies[0] if bodies and "Sequence: finished" in bodies[0] else None

            progress = wait_for(finished, timeout=300, what="the sequence to finish")
            assert "3/3 features passing" in progress
            assert "every feature passes" in progress

            pulls = {n: pull_for(n) for n in (login, cart, search)}
            assert all(len(found) == 1 for found in pulls.values()), pulls
            # stacked: each builds on the branch of the feature before it
            assert pulls[login][0]["base"]["ref"] == pull_for(spec)[0]["head"]["ref"]
            assert pulls[cart][0]["base"]["ref"] == pulls[login][0]["head"]["ref"]
            assert pulls[search][0]["base"]["ref"] == pulls[cart][0]["head"]["ref"]
            issues = {i["number"]: i for i in world.api(f"/repos/{REPO}/issues?state=all")}
            for number in (login, cart, search):
                assert "autocoder:passing" in {label["name"] for label in issues[number]["labels"]}
            assert model.state.player.turns_served == len(turns)

            api = httpx.get(f"{url}/api/repos/{REPO}/features").json()
            graph = {f["number"]: f for f in api["features"]}
            assert graph[cart]["blocked_by"] == [login]
            assert graph[cart]["sub_issue_of"] == [spec]
            [sequence] = api["sequences"]
            assert (sequence["spec"], sequence["state"]) == (spec, "finished")

            def notified() -> list[int]:
                return [p["passing"] for p, _, status in receiver.received if status == 200]

            wait_for(lambda: notified() == [1, 2, 3] or None, timeout=30, what="notifications")
            assert all(signed for _, signed, _ in receiver.received)
            first = receiver.received[0]
            assert first[2] == 500 and receiver.received[1][0] == first[0]  # retried
            assert first[0]["event"] == "test_progress"
            assert (first[0]["total"], first[0]["project"]) == (3, REPO)
