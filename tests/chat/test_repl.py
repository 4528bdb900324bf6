"""The REPL and the assistant's turn, driven through a fake terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.chat.assistant import format_arguments
from runner.chat.config import LLMConfig
from runner.chat.conversation import Conversation
from runner.chat.hints import explain_failure
from runner.chat.session import ChatSession, build_session
from runner.tools import ToolResult, ToolSpec
from tests.chat.fakes import FakeIO
from tests.scripted_model import Fault, ModelServer, Turn, running_model_server, text_turn
from tests.scripted_model import tool_turn as call
from tests.scripted_model.server import ScriptSource


def session(server: ModelServer, tmp_path: Path, io: FakeIO, **kwargs: object) -> ChatSession:
    config = LLMConfig(base_url=server.base_url, model="scripted-model")
    return build_session(config, io, working_dir=tmp_path, environ={}, **kwargs)  # type: ignore[arg-type]


def test_slash_commands(tmp_path: Path) -> None:
    io = FakeIO(["/help", "/id", "/nope", "/clear", "/id", "/exit", "never read"])
    with running_model_server("openai", []) as server:
        chat = session(server, tmp_path, io)
        first = chat.conversation.correlation_id
        assert chat.repl.run() == 0
        second = chat.conversation.correlation_id
        chat.close()
    assert first != second
    assert f"correlation id: {first}" in io.text
    assert f"new correlation id: {second}" in io.text
    assert f"correlation id: {second}\n" in io.text
    assert "unknown command /nope" in io.text
    assert "/quit, /exit" in io.text
    assert io.lines == ["never read"]
    assert server.requests == []


def test_the_conversation_goes_on_across_prompts(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("one\ntwo\n")
    script: ScriptSource = [
        call("read_file", {"path": "notes.txt"}),
        text_turn("It has two lines."),
        "Yes.",
    ]
    io = FakeIO(["what is in notes.txt?", "sure?"])
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io)
        assert chat.repl.run() == 0
        chat.close()
    last = server.turn_requests[-1].body["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert "1\tone" in last[3]["content"]
    assert '-> read_file(path="notes.txt")' in io.text
    assert "ok:" in io.text


def test_a_failed_request_takes_the_prompt_back(tmp_path: Path) -> None:
    script: ScriptSource = [Turn(text="x", fault=Fault(status=400, times=1)), "Recovered."]
    io = FakeIO(["first", "second"])
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io)
        assert chat.repl.run() == 0
        assert [m["role"] for m in chat.conversation.messages] == ["system", "user", "assistant"]
        chat.close()
    assert "error: 400" in io.text
    assert [m["content"] for m in server.turn_requests[-1].body["messages"][1:]] == ["second"]


def test_piped_input_with_a_failed_prompt_exits_non_zero(tmp_path: Path) -> None:
    script: ScriptSource = [Turn(text="x", fault=Fault(status=400, times=1)), "Recovered."]
    io = FakeIO(["first", "second"])
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io)
        assert chat.repl.run(scripted=True) == 1
        chat.close()
    assert "error: 400" in io.text
    fine = FakeIO(["hello"])
    with running_model_server("openai", ["Hi."]) as server:
        chat = session(server, tmp_path, fine)
        assert chat.repl.run(scripted=True) == 0
        chat.close()


def test_custom_tools_are_offered_and_called(tmp_path: Path) -> None:
    calls: list[str] = []

    def shout(text: str) -> ToolResult:
        calls.append(text)
        return ToolResult(True, text.upper())

    tool = ToolSpec(
        name="shout",
        description="Say it loudly.",
        parameters={
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        handler=shout,
    )
    io = FakeIO(["shout hello"])
    script: ScriptSource = [call("shout", {"text": "hello"}), "Shouted."]
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io, extra_tools=[tool])
        chat.repl.run()
        chat.close()
    names = [t["function"]["name"] for t in server.turn_requests[0].body["tools"]]
    assert names[-1] == "shout" and "edit_file" in names
    assert calls == ["hello"]
    assert server.turn_requests[1].body["messages"][-1]["content"] == "HELLO"
    assert "ok: HELLO" in io.text


def test_write_file_shows_a_diff_for_a_new_file(tmp_path: Path) -> None:
    io = FakeIO(["make it"])
    script: ScriptSource = [call("write_file", {"path": "new.txt", "content": "fresh\n"}), "Made."]
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io)
        chat.repl.run()
        chat.close()
    assert "+++ b/new.txt" in io.text and "+fresh" in io.text
    assert (tmp_path / "new.txt").read_text() == "fresh\n"


def test_yes_runs_commands_outside_the_allowlist_without_asking(tmp_path: Path) -> None:
    io = FakeIO(["factor"])
    script: ScriptSource = [call("run_command", {"command": "factor 12"}), "Done."]
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io, allow_all=True)
        chat.repl.run()
        chat.close()
    assert "Run it?" not in "".join(io.prompts)
    assert "12: 2 2 3" in server.turn_requests[1].body["messages"][-1]["content"]


def test_end_of_input_at_the_question_means_no(tmp_path: Path) -> None:
    io = FakeIO(["factor"])  # the question then finds no more input
    script: ScriptSource = [call("run_command", {"command": "factor 12"}), "Done."]
    with running_model_server("openai", script) as server:
        chat = session(server, tmp_path, io)
        chat.repl.run()
        chat.close()
    assert "command refused" in server.turn_requests[1].body["messages"][-1]["content"]


def test_conversation_reset_draws_a_new_id() -> None:
    ids = iter(["id-1", "id-2"])
    conversation = Conversation("system", new_id=lambda: next(ids))
    conversation.messages.append({"role": "user", "content": "x"})
    assert conversation.correlation_id == "id-1"
    assert conversation.reset() == "id-2"
    assert conversation.messages == [{"role": "system", "content": "system"}]


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        ('{"path": "a.py"}', 'path="a.py"'),
        ('{"path": "a", "content": "x\\ny"}', 'path="a", content="x\\ny"'),
        ('{"n": 3}', "n=3"),
        ("not json", "not json"),
        ('{"content": "' + "z" * 100 + '"}', 'content="' + "z" * 58 + "…"),
    ],
)
def test_format_arguments(arguments: str, shown: str) -> None:
    assert format_arguments(arguments) == shown


def test_explain_failure_for_an_unknown_model() -> None:
    config = LLMConfig(sources={"model": "--model"})
    text = explain_failure("model 'x' not found at http://h/v1: nope", config)
    assert "The model name came from --model." in text
