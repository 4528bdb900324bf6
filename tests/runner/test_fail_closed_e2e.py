"""End to end, fail closed: on a machine without bubblewrap a session offers the model no
command tool and runs no command, unless the operator set `AUTOCODER_SANDBOX=off`; either way
the check run and the issue's status comment say so. GitHub is the emulator, the model a
scripted server, PATH a real one with only `bwrap` left out (issue #9)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.runner.path_without_bwrap import path_without_bwrap
from tests.runner.session_harness import (
    ENGINES,
    check_runs_for,
    command_turn,
    configure,
    final_turn,
    model_kind,
    open_pulls,
    run_once,
)
from tests.scripted_model.server import running_model_server
from tests.world import REPO, World, make_world

COMMAND_TOOL = {"openai": "run_command", "claude": "Bash"}


@pytest.fixture()
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = path_without_bwrap(tmp_path / "bin-without-bwrap")
    monkeypatch.setenv("PATH", path)
    assert shutil.which("bwrap") is None
    return path


def offered_tools(model: Any, engine: str) -> list[set[str]]:
    """The tool names of every model turn request the scripted server received."""
    offered = []
    for request in model.requests:
        if request.role not in ("turn", "exhausted") or not isinstance(request.body, dict):
            continue
        tools = request.body.get("tools") or []
        if engine == "openai":
            offered.append({t["function"]["name"] for t in tools})
        else:
            offered.append({t["name"] for t in tools if "name" in t})
    return offered


def status_comment(world: World, number: int) -> str:
    comments: list[dict[str, Any]] = world.api(f"/repos/{REPO}/issues/{number}/comments")
    return "\n".join(c["body"] for c in comments)


@pytest.mark.parametrize("engine", ENGINES)
def test_without_bwrap_no_command_tool_and_the_check_run_says_so(
    engine: str,
    github_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_bwrap: str,
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Run something", "Run the tests.")
    marker = tmp_path / "ran-on-the-host"
    turns = [
        command_turn(engine, f"touch {marker}; touch ran.txt"),
        final_turn("I could not run anything."),
    ]
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        run = run_once(settings, number)
        offered = offered_tools(model, engine)
    assert offered, "the model was asked at least once"
    for tools in offered:
        assert COMMAND_TOOL[engine] not in tools, f"command tool offered: {sorted(tools)}"
        assert tools, "the file tools are still offered"
    assert not marker.exists(), "a command ran without a sandbox"
    result = run.result
    assert all(c.exit_code is None for c in result.commands), "no command ran"
    assert result.conclusion is Conclusion.NEUTRAL
    assert open_pulls(world) == []
    assert result.sandbox_notice is not None
    assert "commands unavailable: no working sandbox" in result.sandbox_notice

    check_run = check_runs_for(world, world.git("rev-parse", "main").strip())[0]
    summary = check_run["output"]["summary"]
    assert "commands unavailable: no working sandbox (bwrap not found" in summary
    assert "AUTOCODER_SANDBOX=off" in summary
    assert "commands unavailable" in status_comment(world, number)
    assert any("commands unavailable" in line for line in run.lines), "the CLI progress says so"


@pytest.mark.parametrize("engine", ENGINES)
def test_without_bwrap_the_operator_may_opt_out_and_every_report_says_so(
    engine: str,
    github_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_bwrap: str,
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Write a file with a command", "Create ran.txt.")
    turns = [
        command_turn(engine, "echo ran > ran.txt"),
        final_turn("Created ran.txt with a command."),
    ]
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(
            monkeypatch, world, engine, model.base_url, tmp_path, AUTOCODER_SANDBOX="off"
        )
        run = run_once(settings, number)
        offered = offered_tools(model, engine)
    assert offered and all(COMMAND_TOOL[engine] in tools for tools in offered)
    result = run.result
    assert [c.exit_code for c in result.commands] == [0]
    assert result.conclusion is Conclusion.SUCCESS
    pulls = open_pulls(world)
    assert len(pulls) == 1
    assert world.git("show", f"{pulls[0]['head']['ref']}:ran.txt") == "ran\n"

    check_run = check_runs_for(world, pulls[0]["head"]["sha"])[0]
    assert (
        "sandbox off (AUTOCODER_SANDBOX=off): commands run UNCONFINED"
        in (check_run["output"]["summary"])
    )
    assert "UNCONFINED" in status_comment(world, number)
    assert any("UNCONFINED" in line for line in run.lines)
