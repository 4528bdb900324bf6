"""End to end (issue #13), `sequence: merged` in `.github/autocoder.yml`: `autocoder serve` on
loopback with the GitHub emulator and a scripted OpenAI-compatible model. A spec with two
features, Login then Cart (blocked by Login): Login's session opens a pull request against the
default branch and the sequence waits (`Sequence: waiting`); Cart's session does not start until
a maintainer merges that pull request (the emulator's merge button: a real merge commit on
`main`, then the `pull_request` closed webhook with `merged: true`). Cart's session then runs on
a branch made from the new `main`, which has Login's file; merging Cart's pull request finishes
the sequence."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.sequence_harness import (
    CONFIG,
    FEATURES,
    feature_turns,
    initializer_turns,
    progress,
    pulls_for,
    sequence_world,
    serve_env,
)
from tests.app.serve_harness import serve
from tests.app.webhook_harness import wait_for
from tests.emulator import gitrepo
from tests.emulator.client import Emulator
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World

pytestmark = pytest.mark.slow

LOGIN_AND_CART = FEATURES[:2]  # Login (priority 2), Cart (priority 1, blocked by Login)


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return sequence_world(github_emulator, CONFIG + "sequence: merged\n")


def main_sha(world: World) -> str:
    return str(world.api(f"/repos/{REPO}/branches/main")["commit"]["sha"])


def only_pull(world: World, number: int) -> dict[str, Any] | None:
    found = pulls_for(world, number)
    assert len(found) <= 1, found
    return found[0] if found else None


def test_merged_waits_for_the_merge_then_builds_on_the_new_default_branch(
    world: World, tmp_path: Path
) -> None:
    spec = world.open_issue("Shop app", "Build a shop. The spec: `prompts/app_spec.txt`.")
    login, cart = spec + 1, spec + 2
    turns = [
        *initializer_turns(features=LOGIN_AND_CART),
        *feature_turns(login),
        *feature_turns(cart),
    ]
    git_dir = world.emulator.core.repo(*REPO.split("/")).path
    with running_model_server("openai", turns) as model:
        env = serve_env(world, tmp_path, model.base_url, None)
        maintainer = world.emulator.act_as(MAINTAINER)
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            maintainer.label_issue(REPO, spec, "autocoder:spec")
            wait_for(
                lambda: pulls_for(world, spec), timeout=180, what="the initializer's pull request"
            )
            maintainer.label_issue(REPO, spec, "autocoder:auto")

            body = wait_for(
                lambda: progress(world, spec, "waiting"),
                timeout=300,
                what="the sequence to wait for Login's merge",
            )
            assert f"waiting for the pull request of #{login} to be merged" in body
            login_pull = only_pull(world, login)
            assert login_pull is not None and login_pull["state"] == "open"
            assert login_pull["base"]["ref"] == "main"  # not stacked on the initializer's branch
            # nothing starts before the merge: no Cart session, no model turn for it
            time.sleep(3)
            assert only_pull(world, cart) is None
            assert model.state.player.turns_served == len(turns) - len(feature_turns(cart))
            api = httpx.get(f"{url}/api/repos/{REPO}/features").json()
            [sequence] = api["sequences"]
            assert sequence["state"] == "waiting"

            merged = maintainer.merge_pull(REPO, login_pull["number"])
            assert main_sha(world) == merged["sha"]

            cart_pull = wait_for(
                lambda: only_pull(world, cart), timeout=300, what="Cart's pull request"
            )
            assert cart_pull["base"]["ref"] == "main"
            head = cart_pull["head"]["sha"]
            # Cart's branch was made from the new main: Login's merge and file are in it
            assert gitrepo.is_ancestor(git_dir, merged["sha"], head)
            assert gitrepo.git(git_dir, "show", f"{head}:features/{login}") == "ok"
            assert gitrepo.git(git_dir, "show", f"{head}:features/{cart}") == "ok"

            body = wait_for(
                lambda: (
                    progress(world, spec, "waiting")
                    if f"#{cart} to be merged" in (progress(world, spec, "waiting") or "")
                    else None
                ),
                timeout=300,
                what="the sequence to wait for Cart's merge",
            )
            assert "2/2 features passing" in body
            maintainer.merge_pull(REPO, cart_pull["number"])

            body = wait_for(
                lambda: progress(world, spec, "finished"),
                timeout=120,
                what="the sequence to finish",
            )
            assert "every feature passes" in body
            assert model.state.player.turns_served == len(turns)
            pulls = {n: only_pull(world, n) for n in (login, cart)}
            assert all(p is not None and p["state"] == "closed" for p in pulls.values()), pulls
