"""The OpenAI-compatible engine end to end: the real httpx client over loopback HTTP against the
scripted chat-completions server, real tools on a temporary worktree."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from runner.engines.base import (
    AssistantText,
    CommandRan,
    EngineError,
    EngineEvent,
    EngineOutcome,
    EngineRequest,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.engines.openai import ModelPrice, OpenAICompatibleClient, OpenAIEngine, RetryPolicy
from runner.limits import LimitGuard, LimitReached
from runner.task import CommandRecord, Limits
from runner.tools import Toolbox
from tests.scripted_model import (
    Fault,
    ModelServer,
    Stall,
    ToolCall,
    Turn,
    running_model_server,
    text_turn,
    tool_turn,
)

SESSION_ID = "session-4242-abcd"
API_KEY = "sk-test-0123456789abcdef"
FAST_RETRY = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    return root


def make_engine(
    base_url: str,
    *,
    retry: RetryPolicy = FAST_RETRY,
    **engine_options: Any,
) -> OpenAIEngine:
    def client() -> OpenAICompatibleClient:
        return OpenAICompatibleClient(base_url, API_KEY, timeout=30, retry=retry)

    def toolbox(worktree: Path) -> Toolbox:
        return Toolbox.for_worktree(worktree, timeout_s=30)

    return OpenAIEngine(client, "scripted-model", toolbox_factory=toolbox, **engine_options)


def run_engine(
    engine: OpenAIEngine, worktree: Path, limits: Limits | None = None
) -> tuple[EngineOutcome, list[EngineEvent], LimitGuard]:
    guard = LimitGuard(limits or Limits(max_turns=20))
    events: list[EngineEvent] = []
    request = EngineRequest(
        session_id=SESSION_ID,
        system_prompt="You are autocoder.",
        prompt="Create notes/hello.txt.",
        worktree=worktree,
        guard=guard,
    )
    outcome = asyncio.run(engine.run(request, events.append))
    return outcome, events, guard


def tool_messages(server: ModelServer) -> list[dict[str, Any]]:
    """The tool results the model was shown, in the last request (which holds them all)."""
    last = server.turn_requests[-1].body
    return [m for m in last["messages"] if m["role"] == "tool"]


def test_a_scripted_session_writes_edits_runs_and_finishes(worktree: Path) -> None:
    script = [
        tool_turn(
            "write_file",
            {"path": "notes/hello.txt", "content": "hello world\n"},
            text="I'll create the file.",
        ),
        tool_turn("edit_file", {"path": "notes/hello.txt", "old_text": "world", "new_text": "you"}),
        tool_turn("run_command", {"command": "cat notes/hello.txt"}),
        text_turn("Created notes/hello.txt and checked it."),
    ]
    with running_model_server("openai", script) as server:
        engine = make_engine(server.base_url, prices={"scripted-model": ModelPrice(1.0, 2.0)})
        outcome, events, guard = run_engine(engine, worktree)

    assert (worktree / "notes/hello.txt").read_text() == "hello you\n"
    assert outcome.final_text == "Created notes/hello.txt and checked it."
    assert outcome.commands == [CommandRecord("cat notes/hello.txt", exit_code=0)]
    assert events == [
        AssistantText("I'll create the file."),
        ToolUse("write_file", "notes/hello.txt"),
        ToolOutcome("write_file", True, "created notes/hello.txt (1 lines)"),
        ToolUse("edit_file", "notes/hello.txt"),
        ToolOutcome("edit_file", True, "edited notes/hello.txt (+1 -1 lines)"),
        ToolUse("run_command", "cat notes/hello.txt"),
        ToolOutcome("run_command", True, "exit code 0"),
        CommandRan(CommandRecord("cat notes/hello.txt", exit_code=0)),
        AssistantText("Created notes/hello.txt and checked it."),
    ]

    requests = server.turn_requests
    assert len(requests) == 4
    assert guard.turns == 4
    assert guard.input_tokens > 0
    assert guard.output_tokens > 0
    expected_cost = (guard.input_tokens * 1.0 + guard.output_tokens * 2.0) / 1_000_000
    assert guard.cost_usd == pytest.approx(expected_cost)
    for recorded in server.requests:
        assert recorded.headers["x-correlation-id"] == SESSION_ID
        assert recorded.headers["authorization"] == f"Bearer {API_KEY}"
    first = requests[0].body
    assert first["model"] == "scripted-model"
    assert first["stream"] is True
    assert first["stream_options"] == {"include_usage": True}
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert [t["function"]["name"] for t in first["tools"]] == [
        "read_file",
        "write_file",
        "edit_file",
        "list_directory",
        "run_command",
    ]
    # Each tool result answers its call, by id, and the model saw the command's output.
    last = requests[-1].body["messages"]
    call_ids = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", ())]
    results = [m for m in last if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == call_ids
    assert results[-1]["content"] == "exit code 0\nhello you\n"


def test_malformed_tool_arguments_go_back_to_the_model(worktree: Path) -> None:
    broken = ToolCall(name="write_file", raw_arguments='{"path": "x.txt", "content": "unfinished')
    script = [
        Turn(tool_calls=(broken,)),
        tool_turn("write_file", {"path": "x.txt", "content": "fixed\n"}),
        text_turn("Fixed my call."),
    ]
    with running_model_server("openai", script) as server:
        outcome, events, _ = run_engine(make_engine(server.base_url), worktree)

    assert outcome.final_text == "Fixed my call."
    assert (worktree / "x.txt").read_text() == "fixed\n"
    assert events[0] == ToolUse("write_file", "(arguments are not valid JSON)")
    assert isinstance(events[1], ToolOutcome)
    assert not events[1].ok
    first_result = tool_messages(server)[0]["content"]
    assert first_result.startswith("the arguments for write_file are not valid JSON")
    assert 'for example {"path": "<string>", "content": "<string>"}' in first_result


def test_rate_limit_and_server_error_are_retried(worktree: Path) -> None:
    script = [
        Turn(
            tool_calls=(ToolCall("list_directory", {}),),
            fault=Fault(status=429, retry_after=0),
            stall=Stall(seconds=0.01),  # held, then answered with a 500
        ),
        text_turn("All done."),
    ]
    with running_model_server("openai", script) as server:
        outcome, events, guard = run_engine(make_engine(server.base_url), worktree)

    assert outcome.final_text == "All done."
    assert [r.role for r in server.requests] == ["fault", "stall", "turn", "turn"]
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 2
    assert retries[0].reason.startswith(f"429 from {server.base_url}/chat/completions")
    assert retries[0].wait_s == 0  # the server's retry-after
    assert retries[1].reason.startswith("500 from")
    assert 0 < retries[1].wait_s <= FAST_RETRY.max_delay_s * (1 + FAST_RETRY.jitter)
    assert isinstance(events[0], Retrying)
    assert guard.turns == 2
    assert all(r.headers["x-correlation-id"] == SESSION_ID for r in server.requests)


def test_persistent_server_errors_give_up_with_a_clear_error(worktree: Path) -> None:
    script = [Turn(text="never", fault=Fault(status=503, times=10))]
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.01)
    with running_model_server("openai", script) as server, pytest.raises(EngineError) as caught:
        run_engine(make_engine(server.base_url, retry=retry), worktree)
    assert len(server.requests) == 3
    assert str(caught.value).startswith(f"503 from {server.base_url}/chat/completions")
    assert "gave up after 3 attempts" in str(caught.value)


def test_a_looping_model_stops_at_the_turn_limit(worktree: Path) -> None:
    script = [tool_turn("list_directory", {"path": "."}) for _ in range(20)]
    limits = Limits(max_turns=3)
    with running_model_server("openai", script) as server, pytest.raises(LimitReached) as caught:
        run_engine(make_engine(server.base_url), worktree, limits)
    assert caught.value.kind == "turns"
    assert len(server.turn_requests) == 3


def test_finishing_on_the_last_allowed_turn_is_not_a_limit(worktree: Path) -> None:
    script = [tool_turn("list_directory", {}), text_turn("Done in two.")]
    with running_model_server("openai", script) as server:
        outcome, _, guard = run_engine(make_engine(server.base_url), worktree, Limits(max_turns=2))
    assert outcome.final_text == "Done in two."
    assert guard.turns == 2


def test_a_dead_endpoint_fails_fast_naming_the_url(worktree: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    engine = make_engine(base_url, retry=RetryPolicy())  # default backoff: still quick
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        run_engine(engine, worktree)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith(f"could not connect to {base_url}: connection refused")
    assert "AUTOCODER_BASE_URL" in message
    assert API_KEY not in message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "401 from {url}/chat/completions: Incorrect API key provided."),
        (404, "model 'scripted-model' not found at {url}"),
        (400, "400 from {url}/chat/completions: Invalid request."),
    ],
)
def test_unusable_answers_are_not_retried(worktree: Path, status: int, expected: str) -> None:
    script = [Turn(text="never", fault=Fault(status=status, times=5))]
    with running_model_server("openai", script) as server, pytest.raises(EngineError) as caught:
        run_engine(make_engine(server.base_url), worktree)
    assert len(server.requests) == 1
    assert str(caught.value).startswith(expected.format(url=server.base_url))
    assert API_KEY not in str(caught.value)
    if status == 401:
        assert "check AUTOCODER_API_KEY" in str(caught.value)


def test_commands_the_model_runs_see_no_secrets(
    worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "GITHUB_TOKEN": "ghs_FAKEgithubTOKEN0000000000000000",
        "ANTHROPIC_API_KEY": "sk-ant-FAKE-anthropic-key-1111111111",
        "AUTOCODER_API_KEY": "sk-FAKE-autocoder-key-2222222222",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    script = [
        tool_turn("run_command", {"command": "env"}),
        text_turn("That is the environment."),
    ]
    with running_model_server("openai", script) as server:
        outcome, _, _ = run_engine(make_engine(server.base_url), worktree)

    assert outcome.commands == [CommandRecord("env", exit_code=0)]
    shown = tool_messages(server)[0]["content"]
    assert shown.startswith("exit code 0\n")
    assert "PATH=" in shown  # the command really ran
    assert "[redacted]" not in shown  # clean at the source, not only scrubbed afterwards
    everything_sent = json.dumps([r.body for r in server.requests])
    for name, value in secrets.items():
        assert value not in everything_sent
        assert f"{name}=" not in shown


def test_the_client_reads_a_plain_json_answer(worktree: Path) -> None:
    script = [tool_turn("list_directory", {}), text_turn("Plain answers work too.")]

    with running_model_server("openai", script) as server:

        def client() -> OpenAICompatibleClient:
            return OpenAICompatibleClient(server.base_url, stream=False, retry=FAST_RETRY)

        engine = OpenAIEngine(client, "scripted-model", toolbox_factory=Toolbox.for_worktree)
        outcome, events, guard = run_engine(engine, worktree)

    assert outcome.final_text == "Plain answers work too."
    assert ToolOutcome("list_directory", True, "README.md") in events
    assert guard.input_tokens > 0
    assert "stream" not in server.turn_requests[0].body
    assert "authorization" not in server.turn_requests[0].headers  # no key, no header


def test_an_injected_client_is_left_open(worktree: Path) -> None:
    async def scenario(base_url: str) -> tuple[str, str]:
        async with OpenAICompatibleClient(base_url, retry=FAST_RETRY) as client:
            engine = OpenAIEngine(client, "scripted-model", toolbox_factory=Toolbox.for_worktree)
            texts = []
            for prompt in ("first", "second"):
                request = EngineRequest(
                    session_id=f"s-{prompt}",
                    system_prompt="sys",
                    prompt=prompt,
                    worktree=worktree,
                    guard=LimitGuard(Limits()),
                )
                texts.append((await engine.run(request, lambda event: None)).final_text)
            return texts[0], texts[1]

    with running_model_server("openai", [text_turn("one"), text_turn("two")]) as server:
        assert asyncio.run(scenario(server.base_url)) == ("one", "two")
    assert [r.headers["x-correlation-id"] for r in server.requests] == ["s-first", "s-second"]
