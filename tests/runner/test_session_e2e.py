"""End to end, for each engine: an issue becomes a draft pull request with a green check run.

GitHub is the emulator and the model is a scripted server; everything else is the real thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    ENGINES,
    check_runs_for,
    configure,
    final_turn,
    model_kind,
    open_pulls,
    run_once,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import REPO, make_world


@pytest.mark.parametrize("engine", ENGINES)
def test_issue_becomes_draft_pull_request_and_a_second_run_updates_it(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    first = [
        write_turn(engine, "hello.txt", "Hello, world!\n"),
        final_turn("Added hello.txt with a greeting, as the issue asked."),
    ]
    with running_model_server(model_kind(engine), first) as model:
        settings = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        run = run_once(settings, number)
    result = run.result
    assert result.conclusion is Conclusion.SUCCESS, run.lines
    assert result.changed_files == ("hello.txt",)

    pulls = open_pulls(world)
    assert len(pulls) == 1
    pull = pulls[0]
    assert pull["draft"] is True
    assert pull["body"].startswith(f"Closes #{number}")
    assert "Added hello.txt with a greeting" in pull["body"]
    assert pull["head"]["ref"].startswith(f"autocoder/issue-{number}-add-a-greeting")
    assert pull["html_url"] == result.pull_request_url
    branch = pull["head"]["ref"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello, world!\n"
    message = world.git("log", "-1", "--format=%an <%ae>%n%B", branch)
    assert world.app.bot_login in message.splitlines()[0]
    assert "Co-authored-by: mona <mona@users.noreply.github.com>" in message
    assert f"Autocoder-Session: {result.session_id}" in message

    head_sha = pull["head"]["sha"]
    runs = [r for r in check_runs_for(world, head_sha) if r["name"] == "autocoder"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "success")]
    assert "Added hello.txt" in runs[0]["output"]["text"]
    reviewers = world.api(f"/repos/{REPO}/pulls/{pull['number']}/requested_reviewers")
    assert [u["login"] for u in reviewers["users"]] == ["mona"]

    comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
    status = [c for c in comments if "autocoder:status" in c["body"]]
    assert len(status) == 1, "the status comment is edited in place, not repeated"
    assert pull["html_url"] in status[0]["body"]
    assert runs[0]["html_url"] in status[0]["body"]

    second = [
        write_turn(engine, "hello.txt", "Hello again, world!\n"),
        final_turn("Made the greeting friendlier."),
    ]
    with running_model_server(model_kind(engine), second) as model:
        settings = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        again = run_once(settings, number)
    assert again.result.conclusion is Conclusion.SUCCESS, again.lines
    pulls = open_pulls(world)
    assert len(pulls) == 1, "a second run pushes to the same pull request"
    assert again.result.pull_number == pull["number"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello again, world!\n"
    assert len(world.git("rev-list", f"main..{branch}").split()) == 2
    new_head = world.git("rev-parse", branch).strip()
    runs = [r for r in check_runs_for(world, new_head) if r["name"] == "autocoder"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "success")]


@pytest.mark.parametrize("engine", ENGINES)
def test_session_that_changes_nothing_ends_neutral_without_pull_request(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Is greet() tested?", "Just checking; change nothing if fine.")
    turns = [final_turn("greet() already returns 'hi'; no change is needed.")]
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        run = run_once(settings, number)
    assert run.result.conclusion is Conclusion.NEUTRAL, run.lines
    assert run.result.pull_request_url is None
    assert open_pulls(world) == []
    main_sha = world.git("rev-parse", "main").strip()
    runs = [r for r in check_runs_for(world, main_sha) if r["name"] == "autocoder"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "neutral")]
    comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
    assert any("no change is needed" in c["body"] for c in comments)
