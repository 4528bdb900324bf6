"""How many GitHub REST calls a session costs (issue #11), pinned so it cannot silently grow.

A two-turn scripted session (write a file, answer) on the emulator, with the credentials an App
session has (its installation known) and the default progress interval (one check-run update per
10 s: a longer session adds those, and a comment by another person adds the look-up of their
permission), counted from the emulator's request log: at most 12, no answer asked for twice, and
the session's result says how many its client sent. A session whose work order carries what the
label's webhook said of the issue and repository (as `autocoder serve`'s do) reads neither
again, nor lists the comments of an issue that has none: at most 9.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from runner.bootstrap import load_task, make_engine, session_deps
from runner.github.auth import GitHubCredentials
from runner.github.client import GitHubClient
from runner.session import run_session
from runner.task import Conclusion
from runner.task_loader import load_issue_task
from runner.work_order import IssueFacts, WorkKind
from tests.emulator.client import Emulator
from tests.runner.session_harness import configure, final_turn, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

MAX_REST_CALLS = 12
MAX_REST_CALLS_WITH_FACTS = 9
HOOK = "http://127.0.0.1:9/not-listening"  # deliveries held (paused): their payloads are read


def test_a_two_turn_session_makes_at_most_twelve_rest_calls(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        credentials = GitHubCredentials.from_app(
            world.app.id,
            world.app.private_key,
            world.installation_id,
            base_url=world.emulator.api_url,
        )
        github_emulator.clear_requests()
        with GitHubClient(credentials, seconds_between_writes=0) as github:
            task = load_issue_task(
                github, REPO, number, triggered_by=MAINTAINER, limits=settings.limits()
            )
            deps = session_deps(settings, github, credentials, make_engine(settings))
            result = asyncio.run(run_session(task, deps))
    assert result.conclusion is Conclusion.SUCCESS and result.pull_number is not None

    calls = [f"{r.method} {r.path}" for r in github_emulator.requests()]
    assert len(calls) <= MAX_REST_CALLS, "\n".join(calls)
    # One installation token serves the API and git alike.
    assert sum(path.endswith("/access_tokens") for path in calls) == 1, calls
    # No answer the session already had is asked for again.
    repeated_reads = {
        call: n for call, n in Counter(calls).items() if call.startswith("GET ") and n > 1
    }
    assert repeated_reads == {}, calls
    issue = f"/repos/{REPO}/issues/{number}"
    assert calls.count(f"POST {issue}/comments") == 1  # the status comment, then edited
    assert f"GET /repos/{REPO}/pulls/{result.pull_number}" not in calls
    # The session's result reports what its own client sent (token minting is the
    # credentials').
    assert result.github_requests == len(calls) - 1


def test_a_session_given_the_webhooks_facts_reads_neither_issue_nor_repository(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    github_emulator.set_webhook_url(world.app.id, HOOK)
    github_emulator.pause_webhooks(HOOK)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    github_emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    labeled = next(d for d in github_emulator.deliveries() if d.action == "labeled")
    facts = IssueFacts.from_webhook(labeled.payload, number)
    assert facts is not None and facts.comments == 0
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        credentials = GitHubCredentials.from_app(
            world.app.id,
            world.app.private_key,
            world.installation_id,
            base_url=world.emulator.api_url,
        )
        github_emulator.clear_requests()
        with GitHubClient(credentials, seconds_between_writes=0) as github:
            task = load_task(
                github,
                kind=WorkKind.START,
                repository=REPO,
                issue_number=number,
                pull_number=None,
                review_id=None,
                actor=None,  # the issue's author, from the facts
                limits=settings.limits(),
                bot_login=None,
                facts=facts,
            )
            deps = session_deps(settings, github, credentials, make_engine(settings))
            deps.repository = facts.repository(REPO)
            result = asyncio.run(run_session(task, deps))
    assert result.conclusion is Conclusion.SUCCESS and result.pull_number is not None
    assert task.title == "Add a greeting file" and task.triggered_by == MAINTAINER

    calls = [f"{r.method} {r.path}" for r in github_emulator.requests()]
    assert len(calls) <= MAX_REST_CALLS_WITH_FACTS, "\n".join(calls)
    issue = f"/repos/{REPO}/issues/{number}"
    assert not [c for c in calls if c.startswith("GET ")], calls  # nothing read at all
    assert calls.count(f"POST {issue}/comments") == 1  # still one status comment, then edited
    assert any(c.startswith("PATCH /repos/") and "/issues/comments/" in c for c in calls), calls
