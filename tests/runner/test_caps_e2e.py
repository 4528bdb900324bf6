"""End to end, spend caps: a real session on the emulator with a scripted model hits each cap,
ends with the cap named on the check run, and its work is pushed. The issue, repository-day and
installation-month caps arrive as budgets (what the App's worker puts in the work order)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runner.bootstrap import github_credentials, make_engine, session_deps
from runner.github.client import GitHubClient
from runner.session import run_session
from runner.settings import RunnerSettings
from runner.spend import Cap, CapScope, ScopeBudget
from runner.task import Conclusion, Usage
from runner.task_loader import load_issue_task
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    ENGINES,
    SessionRun,
    check_runs_for,
    command_turn,
    configure,
    final_turn,
    model_kind,
    open_pulls,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

# The scripted OpenAI server counts about a token per 4 characters; at $1000 per million input
# tokens a turn of this session costs well over $0.10.
PRICED = {"AUTOCODER_INPUT_USD_PER_MTOK": "1000", "AUTOCODER_OUTPUT_USD_PER_MTOK": "1000"}


def run_with_budgets(
    settings: RunnerSettings, issue_number: int, budgets: tuple[ScopeBudget, ...] = ()
) -> SessionRun:
    lines: list[str] = []
    credentials = github_credentials(settings, REPO)
    with GitHubClient(credentials, seconds_between_writes=0) as github:
        limits = replace(settings.limits(), budgets=budgets)
        task = load_issue_task(github, REPO, issue_number, triggered_by=MAINTAINER, limits=limits)
        deps = session_deps(settings, github, credentials, make_engine(settings), echo=lines.append)
        deps.progress_interval_s = 0.5
        result = asyncio.run(run_session(task, deps))
    return SessionRun(result, lines)


def one_turn(world: World, settings: RunnerSettings, engine: str) -> Usage:
    """What one model turn of a session costs here (a probe session on another issue)."""
    with running_model_server(model_kind(engine), [final_turn("ok")]) as probe:
        probe_settings = settings.model_copy(
            update={"base_url": probe.base_url}
            if engine == "openai"
            else {"anthropic_base_url": probe.base_url}
        )
        return run_with_budgets(probe_settings, world.open_issue("Probe", "Say ok.")).result.usage


def busy_script(engine: str) -> list[Any]:
    return [
        write_turn(engine, "partial.txt", "some work\n"),
        *[command_turn(engine, f"echo step {n}") for n in range(12)],
        final_turn("never reached"),
    ]


def run_priced_busy_session(
    monkeypatch: pytest.MonkeyPatch,
    world: World,
    tmp_path: Path,
    number: int,
    max_cost_usd: str,
    budgets: tuple[ScopeBudget, ...] = (),
) -> tuple[SessionRun, int]:
    """A busy OpenAI session on issue `number`, priced so that each turn costs dollars, allowed
    `max_cost_usd` and 30 turns: its run and how many model turns it was served."""
    with running_model_server("openai", busy_script("openai")) as model:
        settings = configure(
            monkeypatch,
            world,
            "openai",
            model.base_url,
            tmp_path,
            AUTOCODER_MAX_COST_USD=max_cost_usd,
            AUTOCODER_MAX_TURNS="30",
            **PRICED,
        )
        return run_with_budgets(settings, number, budgets), model.turns_served


def assert_ended_by_cap(world: World, run: SessionRun, cap: str) -> dict[str, Any]:
    result = run.result
    assert result.conclusion is Conclusion.FAILURE, run.lines
    assert result.limit is not None and cap in result.limit, result.limit
    pull = open_pulls(world)[0]
    assert world.git("show", f"{pull['head']['ref']}:partial.txt") == "some work\n"
    runs = check_runs_for(world, pull["head"]["sha"])
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
    assert cap in runs[0]["output"]["summary"].lower(), runs[0]["output"]["summary"]
    return runs[0]


def test_session_spend_cap_in_usd_ends_the_session_with_work_pushed(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Spend", "Do many steps.")
    run, served = run_priced_busy_session(monkeypatch, world, tmp_path, number, "1.5")
    assert served < 8, "the session went on past its cap"
    assert_ended_by_cap(world, run, "spend cap per session reached")
    assert 1.5 <= run.result.usage.cost_usd < 4


@pytest.mark.parametrize("engine", ENGINES)
def test_session_token_cap_ends_the_session_with_work_pushed(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Tokens", "Do many steps.")
    with running_model_server(model_kind(engine), busy_script(engine)) as model:
        first = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        # One turn's tokens, measured on this very prompt, times two and a half.
        probe_tokens = one_turn(world, first, engine).input_tokens
        assert probe_tokens > 0
        settings = first.model_copy(update={"max_tokens": int(probe_tokens * 2.5)})
        run = run_with_budgets(settings, number)
        served = model.turns_served
    assert served <= 4, run.lines
    assert_ended_by_cap(world, run, "token cap per session reached")


@pytest.mark.parametrize(
    ("scope", "label"),
    [
        (CapScope.ISSUE, "spend cap per issue reached"),
        (CapScope.REPOSITORY_DAY, "spend cap per repository per day reached"),
        (CapScope.INSTALLATION_MONTH, "spend cap per installation per month reached"),
    ],
)
def test_caps_across_sessions_count_earlier_spend(
    scope: CapScope,
    label: str,
    github_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Spend more", "Do many steps.")
    # Earlier sessions spent 8 of 10: this one may spend 2, not its own 50.
    budget = ScopeBudget(scope=scope, cap=Cap(usd=10.0), spent_usd=8.0)
    run, _ = run_priced_busy_session(monkeypatch, world, tmp_path, number, "50", (budget,))
    check_run = assert_ended_by_cap(world, run, label)
    assert "earlier sessions included" in check_run["output"]["summary"]
    assert 2.0 <= run.result.usage.cost_usd < 5


def test_a_repository_may_lower_the_cap_but_not_raise_it(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(
        github_emulator,
        {
            "README.md": "# hello\n",
            ".github/autocoder.yml": "max_cost_usd: 1.5\nmax_cost_usd_per_issue: 1000\n",
        },
    )
    number = world.open_issue("Spend", "Do many steps.")
    budget = ScopeBudget(scope=CapScope.ISSUE, cap=Cap(usd=100.0), spent_usd=0.0)
    run, _ = run_priced_busy_session(monkeypatch, world, tmp_path, number, "50", (budget,))
    check_run = assert_ended_by_cap(world, run, "spend cap per session reached")
    assert "of $1.50" in check_run["output"]["summary"]


def test_claude_session_spend_cap_in_usd(
    github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Spend", "Do many steps.")
    with running_model_server("anthropic", busy_script("claude")) as model:
        first = configure(
            monkeypatch, world, "claude", model.base_url, tmp_path, AUTOCODER_MAX_TURNS="30"
        )
        # Claude Code prices the turns itself: room for about two and a half of them.
        turn_cost = one_turn(world, first, "claude").cost_usd
        assert turn_cost > 0
        settings = first.model_copy(update={"max_cost_usd": turn_cost * 2.5})
        run = run_with_budgets(settings, number)
        served = model.turns_served
    assert served < 8, run.lines
    assert_ended_by_cap(world, run, "spend cap per session reached")
