"""An `/autocoder` command the App does not know is answered with the list of commands, through
the real webhook route on the emulator, and nothing is queued (issue #10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.state import AppState
from tests.app.webhook_harness import count_jobs, make_settings, running_app, wait_for
from tests.emulator.client import Emulator
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[AppState]:
    with running_app(make_settings(tmp_path, world)) as (url, app):
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        state: AppState = app.state.autocoder
        yield state


def test_an_unknown_command_is_answered_with_the_commands(world: World, served: AppState) -> None:
    number = world.open_issue("Typo", "a command autocoder does not know")
    world.emulator.act_as(MAINTAINER).comment(REPO, number, "/autocoder frobnicate")
    world.emulator.wait_for_deliveries()

    def bot_replies() -> list[str]:
        comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
        return [c["body"] for c in comments if c["user"]["login"] == world.app.bot_login]

    replies = wait_for(lambda: bot_replies() or None, what="a reply")
    assert len(replies) == 1
    assert replies[0].startswith("`/autocoder frobnicate` is not a command")
    assert "`/autocoder run`" in replies[0] and "`/autocoder stop`" in replies[0]
    assert "status for #" not in replies[0]
    assert count_jobs(served.database) == 0
