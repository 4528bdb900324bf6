"""A session killed at each point of its end, then run again (issue #17).

The kill lands after the commit, after the push, after the pull request, and after the check
run's completion (before the status comment says so). Every time, the next attempt finishes
the job: exactly one pull request with the work, one model conversation (the scripted model's
request log does not grow), every check run completed. A person's commit on the branch is never
built on nor pushed over: the session stops before the model runs and says why.

The kill is in-process: a hook raises an exception no handler of the session catches (a
`BaseException`, as SIGKILL would end the process), so nothing concludes the check run or edits
the status comment. Everything else is real: the emulator, the scripted model, git, the sandbox.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner.bootstrap import github_credentials, make_engine, session_deps
from runner.events import CommitPushed, PrOpened, SessionEvent
from runner.github.client import GitHubClient
from runner.github.types import CheckRunInfo
from runner.session import run_session
from runner.settings import RunnerSettings
from runner.task import Conclusion
from runner.task_loader import load_issue_task
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    SessionRun,
    command_turn,
    configure,
    final_turn,
    open_pulls,
    run_once,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

ENGINE = "openai"
KILL_POINTS = ["committed", "pushed", "pull_request", "check_run_completed"]


class Killed(BaseException):
    """The session process died here (no handler of the session catches this)."""


class _KillOnConclusion:
    """A check-run observer that kills the session once its last check run is completed."""

    def __init__(self) -> None:
        self.open: int | None = None

    def opened(self, run: CheckRunInfo) -> None:
        self.open = run.id

    def concluded(self, check_run_id: int) -> None:
        if check_run_id == self.open:
            raise Killed("after the check run's completion")


def run_killed(settings: RunnerSettings, issue_number: int, point: str) -> None:
    """Run a session for the issue and kill it at `point`."""
    credentials = github_credentials(settings, REPO)
    with GitHubClient(credentials, seconds_between_writes=0) as github:
        task = load_issue_task(
            github, REPO, issue_number, triggered_by=MAINTAINER, limits=settings.limits()
        )
        deps = session_deps(settings, github, credentials, make_engine(settings))
        deps.progress_interval_s = 0.5
        if point == "check_run_completed":
            deps.check_run_observer = _KillOnConclusion()
        elif point == "committed":

            def at_step(step: str) -> None:
                if step == point:
                    raise Killed("after the commit")

            deps.at_step = at_step
        else:
            kill_on = CommitPushed if point == "pushed" else PrOpened

            def on_event(event: SessionEvent) -> None:
                if isinstance(event, kill_on):
                    raise Killed(f"after {point}")

            deps.events = on_event
        with pytest.raises(Killed):
            asyncio.run(run_session(task, deps))


def all_check_runs(world: World, *refs: str) -> list[dict[str, Any]]:
    runs: dict[int, dict[str, Any]] = {}
    for ref in refs:
        found = world.api(f"/repos/{REPO}/commits/{ref}/check-runs?filter=all&per_page=100")
        runs |= {run["id"]: run for run in found["check_runs"] if run["name"] == "autocoder"}
    return list(runs.values())


def status_comment(world: World, number: int) -> str:
    comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
    bodies = [c["body"] for c in comments if "autocoder:status" in c["body"]]
    assert len(bodies) == 1, "one status comment, edited in place"
    return str(bodies[0])


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_session_killed_at_its_end_is_finished_without_the_model(
    point: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    main_sha = world.git("rev-parse", "main").strip()
    turns = [
        write_turn(ENGINE, "hello.txt", "Hello, world!\n"),
        final_turn("Added hello.txt with a greeting, as the issue asked."),
    ]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, ENGINE, model.base_url, tmp_path)
        run_killed(settings, number, point)
        assert model.turns_served == 2
        requests_after_kill = len(model.requests)
        again = run_once(settings, number)
        assert len(model.requests) == requests_after_kill, "the model was asked again"

    result = again.result
    assert result.conclusion is Conclusion.SUCCESS, again.lines
    pulls = open_pulls(world)
    assert len(pulls) == 1, [p["number"] for p in pulls]
    pull = pulls[0]
    assert pull["body"].startswith(f"Closes #{number}")
    assert result.pull_number == pull["number"]
    branch, head = pull["head"]["ref"], pull["head"]["sha"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello, world!\n"
    assert len(world.git("rev-list", f"main..{branch}").split()) == 1, "the work, once"
    message = world.git("log", "-1", "--format=%B", branch)
    assert "Autocoder-Engine: finished" in message
    if point in ("pull_request", "check_run_completed"):
        # The pull request kept the model's own account.
        assert "Added hello.txt with a greeting" in pull["body"]

    runs = all_check_runs(world, main_sha, head)
    assert runs and all(run["status"] == "completed" for run in runs), [
        (r["head_sha"][:7], r["status"], r["conclusion"]) for r in runs
    ]
    latest = world.api(f"/repos/{REPO}/commits/{head}/check-runs")["check_runs"]
    assert [(r["name"], r["conclusion"]) for r in latest] == [("autocoder", "success")]
    assert "without running the model again" in latest[0]["output"]["text"]
    comment = status_comment(world, number)
    assert "done" in comment and pull["html_url"] in comment


def test_a_session_killed_while_the_model_works_runs_it_again_from_the_pushed_branch(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work that the engine had not finished is not delivered as it is: the next attempt runs
    the model again, on top of the branch (no non-fast-forward push, no second pull request)."""
    world = make_world(github_emulator)
    number = world.open_issue("Add two files", "Please add a.txt and b.txt.")
    # The first attempt stops at its turn limit after writing a.txt (work in progress, pushed).
    with running_model_server("openai", [write_turn(ENGINE, "a.txt", "a\n")] * 3) as model:
        settings = configure(
            monkeypatch, world, ENGINE, model.base_url, tmp_path, AUTOCODER_MAX_TURNS="1"
        )
        run_killed(settings, number, "pushed")
    branch = world.git("for-each-ref", "--format=%(refname:short)", "refs/heads/autocoder").strip()
    wip = world.git("rev-parse", branch).strip()
    assert "Autocoder-Engine" not in world.git("log", "-1", "--format=%B", wip)

    turns = [write_turn(ENGINE, "b.txt", "b\n"), final_turn("Added b.txt; a.txt was there.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, ENGINE, model.base_url, tmp_path)
        again = run_once(settings, number)
        assert model.turns_served == 2
    assert again.result.conclusion is Conclusion.SUCCESS, again.lines
    pulls = open_pulls(world)
    assert len(pulls) == 1 and pulls[0]["head"]["ref"] == branch
    assert world.git("rev-parse", f"{branch}~1").strip() == wip, "built on the pushed work"
    assert world.git("show", f"{branch}:a.txt") == "a\n"
    assert world.git("show", f"{branch}:b.txt") == "b\n"


def test_a_persons_commit_on_the_branch_is_never_overwritten(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    turns = [write_turn(ENGINE, "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, ENGINE, model.base_url, tmp_path)
        run_killed(settings, number, "pushed")
        branch = world.git("for-each-ref", "--format=%(refname:short)", "refs/heads/autocoder")
        branch = branch.strip()
        # Meanwhile a person pushes to the session's branch.
        theirs = world.emulator.act_as(MAINTAINER).push_files(
            REPO, branch, {"hello.txt": "Hello from a person\n"}, "Say it my way", from_ref=branch
        )
        requests_before = len(model.requests)
        again = run_once(settings, number)
        assert len(model.requests) == requests_before, "the model ran"

    assert again.result.conclusion is Conclusion.FAILURE, again.lines
    assert world.git("rev-parse", branch).strip() == theirs, "the person's commit was replaced"
    assert world.git("show", f"{branch}:hello.txt") == "Hello from a person\n"
    assert open_pulls(world) == []
    runs = world.api(f"/repos/{REPO}/commits/{theirs}/check-runs")["check_runs"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
    text = runs[0]["output"]["summary"] + runs[0]["output"].get("text", "")
    assert "commits autocoder did not write" in text and theirs[:7] in text
    comment = status_comment(world, number)
    assert "commits autocoder did not write" in comment and "Say it my way" in comment
    main_sha = world.git("rev-parse", "main").strip()
    runs = all_check_runs(world, main_sha, theirs)
    assert all(run["status"] == "completed" for run in runs)


def test_python_debris_from_the_sandbox_is_not_committed(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Greet loudly", "greet() should return 'HI'.")
    turns = [
        write_turn(ENGINE, "greet.py", "def greet():\n    return 'HI'\n"),
        # Runs Python (which would write __pycache__/) and leaves explicit debris behind.
        command_turn(
            ENGINE,
            "python3 -c 'import greet; assert greet.greet() == \"HI\"' && mkdir -p .pytest_cache "
            "&& touch .pytest_cache/README.md && python3 -m py_compile greet.py",
        ),
        final_turn("greet() returns 'HI' now."),
    ]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, ENGINE, model.base_url, tmp_path)
        run: SessionRun = run_once(settings, number)
    assert run.result.conclusion is Conclusion.SUCCESS, run.lines
    assert [c.exit_code for c in run.result.commands] == [0], run.lines
    assert run.result.changed_files == ("greet.py",)
    branch = open_pulls(world)[0]["head"]["ref"]
    files = world.git("ls-tree", "-r", "--name-only", branch).split()
    assert sorted(files) == ["README.md", "greet.py"]
