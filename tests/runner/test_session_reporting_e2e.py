"""What a session tells people, end to end on the emulator with a scripted model (issue #10):
a draft pull request is called a draft, never "ready for review"; a second session that changed
nothing concludes `neutral`, says so, and does not claim the first session's commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    check_runs_for,
    configure,
    final_turn,
    open_pulls,
    run_once,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import REPO, make_world


def test_draft_wording_and_a_session_that_changes_nothing_is_neutral(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    first = [
        write_turn("openai", "hello.txt", "Hello, world!\n"),
        final_turn("Added hello.txt."),
    ]
    with running_model_server("openai", first) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        run = run_once(settings, number)
    assert run.result.conclusion is Conclusion.SUCCESS, run.lines
    (pull,) = open_pulls(world)
    assert pull["draft"] is True
    assert "ready for review." not in pull["body"].lower()
    assert "Draft pull request" in pull["body"]
    first_head = pull["head"]["sha"]
    (check,) = [r for r in check_runs_for(world, first_head) if r["name"] == "autocoder"]
    assert check["output"]["title"] == "Draft pull request opened"
    assert check["output"]["summary"].startswith("**Draft pull request opened**")
    first_commit = run.result.commits[0]

    second = [final_turn("Looked again: hello.txt already greets; nothing to change.")]
    with running_model_server("openai", second) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        again = run_once(settings, number)
    result = again.result
    assert result.conclusion is Conclusion.NEUTRAL, again.lines
    assert result.commits == ()
    assert result.changed_files == ()
    assert result.pull_number == pull["number"]
    assert world.api(f"/repos/{REPO}/pulls/{pull['number']}")["head"]["sha"] == first_head
    runs = [r for r in check_runs_for(world, first_head) if r["name"] == "autocoder"]
    last = runs[0] if runs[0]["id"] != check["id"] else runs[-1]
    assert last["id"] != check["id"]
    assert last["conclusion"] == "neutral"
    assert last["output"]["title"] == "No change needed"
    assert "This session changed nothing" in last["output"]["summary"]
    assert first_commit not in last["output"]["text"]
    assert "## Commits\n_None._" in last["output"]["text"]
