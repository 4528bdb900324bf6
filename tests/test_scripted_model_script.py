"""The script model of the scripted model servers: loading, validation, playback order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripted_model.player import Fail, Hold, ScriptPlayer, Serve
from tests.scripted_model.script import (
    DEFAULT_FINAL_TEXT,
    Fault,
    Script,
    ScriptError,
    Stall,
    ToolCall,
    Turn,
    as_script,
    load_script,
    parse_script,
    text_turn,
    tool_turn,
)

YAML_SCRIPT = """\
final_text: All done, nothing left.
turns:
  - text: Let me write the file.
    tool_calls:
      - name: Write
        input: {file_path: /tmp/x.txt, content: "hello\\n"}
  - fault: {status: 529, times: 2}
    stall: 0.5
    text: Done.
  - Plain text turn
"""


def test_loads_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(YAML_SCRIPT)
    script = load_script(path)
    assert script.final_text == "All done, nothing left."
    assert script.turns == (
        Turn(
            text="Let me write the file.",
            tool_calls=(ToolCall("Write", {"file_path": "/tmp/x.txt", "content": "hello\n"}),),
        ),
        Turn(text="Done.", fault=Fault(status=529, times=2), stall=Stall(seconds=0.5)),
        Turn(text="Plain text turn"),
    )
    assert script.turns[0].effective_stop_reason() == "tool_use"
    assert script.turns[1].effective_stop_reason() == "end_turn"


def test_loads_json_file_with_openai_style_arguments(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    data = [{"tool_calls": [{"name": "read_file", "arguments": '{"path": "a.py"}', "id": "c1"}]}]
    path.write_text(json.dumps(data))
    (turn,) = load_script(path).turns
    (call,) = turn.tool_calls
    assert call.input == {"path": "a.py"}
    assert call.arguments_json() == '{"path": "a.py"}'
    assert call.id == "c1"
    assert load_script(path).final_text == DEFAULT_FINAL_TEXT


def test_raw_arguments_that_are_not_json_are_served_verbatim() -> None:
    (turn,) = parse_script([{"tool_calls": [{"name": "f", "arguments": "{broken"}]}]).turns
    assert turn.tool_calls[0].arguments_json() == "{broken"
    assert turn.tool_calls[0].input == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("just text", "a script is a list of turns or a mapping with 'turns'"),
        ({"turn": []}, "script: unknown key(s) ['turn']"),
        ({"turns": {}}, "script.turns: expected a list"),
        ([{}], "turns[0]: a turn needs 'text', 'tool_calls' or both"),
        ([{"txt": "hi"}], "turns[0]: unknown key(s) ['txt']"),
        ([{"text": 3}], "turns[0].text: expected a string"),
        (["ok", {"tool_calls": [{"input": {}}]}], "turns[1].tool_calls[0].name"),
        ([{"tool_calls": [{"name": "f", "input": [1]}]}], "turns[0].tool_calls[0].input"),
        (
            [{"tool_calls": [{"name": "f", "input": {}, "arguments": "{}"}]}],
            "give 'input' or 'arguments', not both",
        ),
        ([{"text": "x", "fault": {"status": 418}}], "turns[0].fault.status: 418 is not one of"),
        ([{"text": "x", "fault": {"status": 429, "times": 0}}], "turns[0].fault.times"),
        ([{"text": "x", "fault": {"status": 429, "retry_after": -1}}], "fault.retry_after"),
        ([{"text": "x", "stall": "long"}], "turns[0].stall: expected seconds"),
        ([{"text": "x", "stall": {"times": 2}}], "turns[0].stall.seconds: missing"),
        ([{"text": "x", "stop_reason": "done"}], "turns[0].stop_reason: 'done' is not one of"),
        ({"turns": [], "final_text": 1}, "script.final_text: expected a string"),
    ],
)
def test_malformed_scripts_say_where_and_why(data: object, message: str) -> None:
    with pytest.raises(ScriptError) as excinfo:
        parse_script(data)
    assert message in str(excinfo.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("turns: [ {text: ")
    with pytest.raises(ScriptError, match=r"bad\.yaml: not valid YAML/JSON"):
        load_script(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- {text: hi, fault: {status: 999}}\n")
    with pytest.raises(ScriptError, match=r"wrong\.yaml: turns\[0\]\.fault\.status"):
        load_script(wrong)
    with pytest.raises(ScriptError, match="cannot read script"):
        load_script(tmp_path / "missing.yaml")


def test_as_script_accepts_turns_mappings_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- hi\n")
    assert as_script(path).turns == (Turn(text="hi"),)
    mixed = as_script([text_turn("a"), {"text": "b"}, tool_turn("f", {"x": 1}, text="c")])
    assert [t.text for t in mixed.turns] == ["a", "b", "c"]
    script = Script(turns=(Turn(text="x"),))
    assert as_script(script) is script


def test_player_serves_turns_in_order_then_the_final_text() -> None:
    player = ScriptPlayer(Script(turns=(text_turn("one"), text_turn("two")), final_text="bye"))
    steps = [player.next_step() for _ in range(4)]
    assert steps == [
        Serve(turn=Turn(text="one"), index=0),
        Serve(turn=Turn(text="two"), index=1),
        Serve(turn=Turn(text="bye"), index=None),
        Serve(turn=Turn(text="bye"), index=None),
    ]
    assert player.turns_served == 2
    assert player.exhausted_requests == 2


def test_player_applies_faults_then_stalls_before_serving_the_turn() -> None:
    fault = Fault(status=429, times=2, retry_after=1)
    stall = Stall(seconds=3)
    turn = Turn(text="after", fault=fault, stall=stall)
    player = ScriptPlayer(Script(turns=(text_turn("first"), turn)))
    assert player.next_step() == Serve(turn=Turn(text="first"), index=0)
    assert player.next_step() == Fail(fault=fault, index=1)
    assert player.next_step() == Fail(fault=fault, index=1)
    assert player.turns_served == 1
    assert player.next_step() == Hold(stall=stall, index=1)
    assert player.next_step() == Serve(turn=turn, index=1)
    assert player.turns_served == 2
    assert player.exhausted_requests == 0
