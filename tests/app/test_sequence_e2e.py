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

from pathlib import Path

import httpx
import pytest

from tests.app.sequence_harness import (
    feature_turns,
    initializer_turns,
    labels_of,
    progress,
    pulls_for,
    receiving,
    sequence_world,
    serve_env,
)
from tests.app.serve_harness import serve
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import check_runs_for, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return sequence_world(github_emulator)


def test_spec_to_features_to_sessions_in_sequence(world: World, tmp_path: Path) -> None:
    spec = world.open_issue("Shop app", "Build a shop. The spec: `prompts/app_spec.txt`.")
    login, cart, search = spec + 1, spec + 2, spec + 3  # created in this order
    turns = [
        *initializer_turns(),
        *feature_turns(login),  # Login (priority 2) first: Cart waits on it
        *feature_turns(cart),  # then Cart (priority 1, now unblocked), before Search
        # Search breaks Login: the regression keeps Search from passing
        *feature_turns(search, also=[write_turn("openai", f"features/{login}", "broken")]),
        # after /autocoder resume: Search again, Login repaired
        *feature_turns(search, also=[write_turn("openai", f"features/{login}", "ok")]),
    ]
    with running_model_server("openai", turns) as model, receiving() as receiver:
        env = serve_env(world, tmp_path, model.base_url, receiver.url)
        maintainer = world.emulator.act_as(MAINTAINER)
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            maintainer.label_issue(REPO, spec, "autocoder:spec")

            wait_for(
                lambda: pulls_for(world, spec), timeout=180, what="the initializer's pull request"
            )
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

            body = wait_for(
                lambda: progress(world, spec, "stopped"),
                timeout=400,
                what="the sequence to stop at Search",
            )
            assert "2/3 features passing" in body
            [search_pull] = pulls_for(world, search)
            runs = check_runs_for(world, search_pull["head"]["sha"])
            [run] = [r for r in runs if r["status"] == "completed"]
            assert f"Feature #{search} (Search): not passing" in run["output"]["summary"]
            assert f"regression in #{login}" in run["output"]["summary"]

            maintainer.comment(REPO, spec, "/autocoder resume")

            body = wait_for(
                lambda: progress(world, spec, "finished"),
                timeout=300,
                what="the sequence to finish",
            )
            assert "3/3 features passing" in body
            assert "every feature passes" in body

            pulls = {n: pulls_for(world, n) for n in (login, cart, search)}
            assert all(len(found) == 1 for found in pulls.values()), pulls
            # stacked: each builds on the branch of the feature before it
            assert pulls[login][0]["base"]["ref"] == pulls_for(world, spec)[0]["head"]["ref"]
            assert pulls[cart][0]["base"]["ref"] == pulls[login][0]["head"]["ref"]
            assert pulls[search][0]["base"]["ref"] == pulls[cart][0]["head"]["ref"]
            now = labels_of(world)
            assert all("autocoder:passing" in now[n] for n in (login, cart, search))
            assert model.state.player.turns_served == len(turns)

            api = httpx.get(f"{url}/api/repos/{REPO}/features").json()
            graph = {f["number"]: f for f in api["features"]}
            assert graph[cart]["blocked_by"] == [login]
            assert graph[cart]["sub_issue_of"] == [spec]
            [sequence] = api["sequences"]
            assert (sequence["spec"], sequence["state"]) == (spec, "finished")

            wait_for(
                lambda: receiver.delivered() == [1, 2, 3] or None, timeout=30, what="notifications"
            )
            assert all(signed for _, signed, _ in receiver.received)
            first = receiver.received[0]
            assert first[2] == 500 and receiver.received[1][0] == first[0]  # retried
            assert first[0]["event"] == "test_progress"
            assert (first[0]["total"], first[0]["project"]) == (3, REPO)
