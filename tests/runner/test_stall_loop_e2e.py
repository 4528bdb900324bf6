"""End to end, stuck and looping sessions: a scripted model that stops answering is ended as
timed out after `AUTOCODER_STALL_SECONDS`; the same tool call with the same result
`AUTOCODER_LOOP_REPEATS` times in a row ends the session as a loop. Both engines; each time the
work so far is pushed and the check run names what ended it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    ENGINES,
    check_runs_for,
    command_turn,
    configure,
    final_turn,
    model_kind,
    open_pulls,
    run_once,
    write_turn,
)
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import make_world


@pytest.mark.parametrize("engine", ENGINES)
def test_a_stalled_model_ends_the_session_as_timed_out(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Stall", "Take your time.")
    hung = Turn(text="thinking...", stall=Stall(seconds=300))
    turns = [write_turn(engine, "partial.txt", "half done\n"), hung, final_turn("never")]
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(
            monkeypatch, world, engine, model.base_url, tmp_path, AUTOCODER_STALL_SECONDS="4"
        )
        run = run_once(settings, number)
    result = run.result
    assert result.conclusion is Conclusion.TIMED_OUT, run.lines
    assert result.limit == "no model or tool progress for 4 s (stalled; timed out)"
    # Ended by the stall watch, not the 30-minute wall-time limit nor the 300 s hang.
    assert result.duration_s < 120
    pull = open_pulls(world)[0]
    assert world.git("show", f"{pull['head']['ref']}:partial.txt") == "half done\n"
    runs = check_runs_for(world, pull["head"]["sha"])
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "timed_out")]
    assert "No model or tool progress for 4 s" in runs[0]["output"]["summary"]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_tool_call_and_result_in_a_row_ends_the_session_as_a_loop(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Loop", "Keep checking.")
    turns = [write_turn(engine, "partial.txt", "half done\n")]
    turns += [command_turn(engine, "cat partial.txt") for _ in range(12)]
    turns.append(final_turn("never"))
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(
            monkeypatch,
            world,
            engine,
            model.base_url,
            tmp_path,
            AUTOCODER_LOOP_REPEATS="3",
            AUTOCODER_MAX_TURNS="30",
        )
        run = run_once(settings, number)
        served = model.turns_served
    result = run.result
    assert result.conclusion is Conclusion.FAILURE, run.lines
    assert result.limit is not None
    assert result.limit.startswith("loop detected: the same tool call (")
    assert result.limit.endswith("gave the same result 3 times in a row")
    assert "cat partial.txt" in result.limit
    assert served <= 5, "the session asked the model again after the loop"
    pull = open_pulls(world)[0]
    assert world.git("show", f"{pull['head']['ref']}:partial.txt") == "half done\n"
    runs = check_runs_for(world, pull["head"]["sha"])
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")]
    assert "Loop detected: the same tool call" in runs[0]["output"]["summary"]
