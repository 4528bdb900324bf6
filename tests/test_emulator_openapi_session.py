"""The emulator, checked against GitHub's OpenAPI description over a whole autocoder session:
every request body autocoder (through PyGithub) sends, and every response the emulator returns,
for every operation a session uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.openapi.validator import OpenAPIValidator
from tests.runner.session_harness import configure, final_turn, run_once, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import make_world


def test_every_exchange_of_a_session_matches_githubs_description(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt.")
    github_emulator.act_as("mona").comment("octo/hello", number, "Use a friendly tone.")
    github_emulator.clear_requests()
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        run = run_once(settings, number)
    assert run.result.conclusion is Conclusion.SUCCESS

    validator = OpenAPIValidator.load()
    records = github_emulator.requests()
    operations = {validator.match(r.method, r.path) for r in records}
    # The session's whole conversation with GitHub, as GitHub's description names it.
    for expected in (
        "apps/get-repo-installation",
        "apps/create-installation-access-token",
        "repos/get",
        "issues/get",
        "issues/list-comments",
        "repos/get-collaborator-permission-level",
        "reactions/create-for-issue",
        "issues/create-comment",
        "issues/update-comment",
        "checks/create",
        "checks/update",
        # (no pulls/list: a session whose branch the remote lacks has no pull request to find)
        "pulls/create",
        "pulls/request-reviewers",
    ):
        assert expected in operations, f"{expected} not exercised"
    problems = []
    for record in records:
        for problem in validator.check(
            record.method, record.path, record.status, record.request_body, record.response_body
        ):
            problems.append(f"{record.method} {record.path} {record.status}: {problem}")
    assert problems == []
