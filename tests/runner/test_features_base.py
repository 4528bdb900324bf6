"""The branch a stacked feature session starts from (runner/features/base.py), on real git: the
previous feature's branch while the remote has it, the default branch once that branch was
merged and deleted (the mirror's fetch prunes it), never a failure."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from runner.bootstrap import github_credentials, make_engine, session_deps
from runner.features.base import start_branch
from runner.github.client import GitHubClient
from runner.session import run_session
from runner.task import Conclusion
from runner.task_loader import load_issue_task
from runner.workspace import GitAuth, MirrorCache
from tests.emulator.client import Emulator
from tests.runner.session_harness import configure, final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, make_world

LOGIN = "autocoder/issue-2-login"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_stacked_base_until_it_is_deleted_then_the_default(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    git(
        origin,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    )
    git(origin, "branch", LOGIN)
    cache = MirrorCache(tmp_path / "cache")
    url = f"file://{origin}"

    mirror = cache.update(url, GitAuth(None))
    assert start_branch(mirror, LOGIN, "main") == LOGIN
    assert start_branch(mirror, None, "main") == "main"
    assert start_branch(mirror, "main", "main") == "main"

    git(origin, "branch", "-D", LOGIN)  # merged, and GitHub deleted the branch
    mirror = cache.update(url, GitAuth(None))
    assert start_branch(mirror, LOGIN, "main") == "main"
    assert start_branch(mirror, "autocoder/issue-3-never-existed", "main") == "main"


@pytest.mark.slow
def test_a_session_stacked_on_a_deleted_branch_starts_from_main(
    monkeypatch: pytest.MonkeyPatch, github_emulator: Emulator, tmp_path: Path
) -> None:
    """A whole session (emulator, scripted model): its base branch is gone, so its branch
    starts from main and its pull request asks to merge into main."""
    world = make_world(github_emulator)
    number = world.open_issue("Cart", "Add a cart.")
    turns = [write_turn("openai", "cart.txt", "cart\n"), final_turn("Added the cart.")]
    with running_model_server("openai", turns) as model:
        settings = configure(monkeypatch, world, "openai", model.base_url, tmp_path)
        credentials = github_credentials(settings, REPO)
        with GitHubClient(credentials, seconds_between_writes=0) as github:
            task = load_issue_task(
                github, REPO, number, triggered_by=MAINTAINER, limits=settings.limits()
            )
            task = replace(task, base_branch=LOGIN)  # merged and deleted: not on the remote
            deps = session_deps(settings, github, credentials, make_engine(settings))
            result = asyncio.run(run_session(task, deps))
    assert result.conclusion is Conclusion.SUCCESS, result.error
    [pull] = open_pulls(world)
    assert pull["base"]["ref"] == "main"
    assert world.git("show", f"{pull['head']['sha']}:cart.txt") == "cart\n"
