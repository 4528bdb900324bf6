"""The real claude-agent-sdk and its bundled Claude Code CLI against a scripted Anthropic server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    PermissionResultAllow,
    ResultError,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ToolPermissionContext,
    query,
)

from tests.scripted_model import (
    ModelServer,
    claude_cli_env,
    parse_script,
    running_model_server,
    text_turn,
    tool_turn,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def run_session(
    server: ModelServer,
    workdir: Path,
    home: Path,
    prompt: str,
    *,
    max_retries: int = 1,
    api_timeout_ms: int | None = None,
) -> tuple[list[Any], list[str]]:
    """Run one session; return every SDK message and the tools the CLI asked permission for."""
    asked: list[str] = []

    async def allow(name: str, tool_input: dict[str, Any], _: ToolPermissionContext):
        asked.append(name)
        return PermissionResultAllow()

    async def prompts():
        yield {"type": "user", "message": {"role": "user", "content": prompt}}

    options = ClaudeAgentOptions(
        cwd=str(workdir),
        env=claude_cli_env(
            server.base_url, home, max_retries=max_retries, api_timeout_ms=api_timeout_ms
        ),
        can_use_tool=allow,
        max_turns=5,
    )
    messages = [m async for m in query(prompt=prompts(), options=options)]
    return messages, asked


def test_a_scripted_write_creates_the_file(tmp_path: Path) -> None:
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    target = workdir / "hello.txt"
    script = [
        tool_turn("Write", {"file_path": str(target), "content": "scripted hello\n"}, text="Ok."),
        text_turn("The file is written."),
    ]
    with running_model_server("anthropic", script) as server:
        messages, asked = asyncio.run(
            asyncio.wait_for(run_session(server, workdir, home, "write hello.txt"), 90)
        )
        requests = server.requests
        assert server.turns_served == 2 and not server.exhausted
    assert target.read_text() == "scripted hello\n"
    assert asked == ["Write"]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and not result.is_error
    assert result.result == "The file is written."
    turns = [r for r in requests if r.role == "turn"]
    first = turns[0]
    assert first.headers["x-api-key"] == "sk-ant-scripted-test"
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert first.body["stream"] is True
    assert "Write" in {tool["name"] for tool in first.body["tools"]}
    # the second turn carries the tool result of the first
    results = [
        block
        for message in turns[1].body["messages"]
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert len(results) == 1
    # nothing but the connectivity probe and the two turns (nonessential traffic is off)
    assert {r.role for r in requests} <= {"turn", "auxiliary"}


def test_the_cli_retries_a_529_and_then_completes(tmp_path: Path) -> None:
    script = [{"text": "Recovered.", "fault": {"status": 529, "times": 1}}]
    home = tmp_path / "home"
    home.mkdir()
    with running_model_server("anthropic", script) as server:
        messages, _ = asyncio.run(
            asyncio.wait_for(run_session(server, tmp_path, home, "hi", max_retries=2), 90)
        )
        roles = [r.role for r in server.requests if r.path == "/v1/messages"]
    assert roles == ["fault", "turn"]
    retries = [m for m in messages if isinstance(m, SystemMessage) and m.subtype == "api_retry"]
    assert len(retries) == 1 and retries[0].data["error_status"] == 529
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.result == "Recovered."


def test_the_cli_gives_up_after_max_retries(tmp_path: Path) -> None:
    script = [{"text": "never", "fault": {"status": 529, "times": 5}}]
    home = tmp_path / "home"
    home.mkdir()
    with running_model_server("anthropic", script) as server:
        with pytest.raises(ResultError, match="529") as excinfo:
            asyncio.run(asyncio.wait_for(run_session(server, tmp_path, home, "hi"), 90))
        faults = [r for r in server.requests if r.role == "fault"]
    assert "Overloaded" in str(excinfo.value)
    assert len(faults) == 2  # the first try and CLAUDE_CODE_MAX_RETRIES=1 retry
    assert server.turns_served == 0


def test_an_exhausted_script_ends_the_session_with_the_final_text(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    script = {"turns": [], "final_text": "No more scripted turns."}
    with running_model_server("anthropic", parse_script(script)) as server:
        messages, _ = asyncio.run(asyncio.wait_for(run_session(server, tmp_path, home, "hi"), 90))
        assert server.exhausted
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.result == "No more scripted turns."
    assert any(
        isinstance(m, AssistantMessage)
        and any(isinstance(b, TextBlock) and b.text == "No more scripted turns." for b in m.content)
        for m in messages
    )


def test_the_cli_times_out_a_stalled_request_and_retries(tmp_path: Path) -> None:
    script = [{"text": "Late but here.", "stall": 30}]
    home = tmp_path / "home"
    home.mkdir()
    with running_model_server("anthropic", script) as server:
        messages, _ = asyncio.run(
            asyncio.wait_for(run_session(server, tmp_path, home, "hi", api_timeout_ms=1500), 60)
        )
        roles = [r.role for r in server.requests if r.path == "/v1/messages"]
    assert roles == ["stall", "turn"]
    retries = [m for m in messages if isinstance(m, SystemMessage) and m.subtype == "api_retry"]
    assert len(retries) == 1
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.result == "Late but here."
