"""The assistant's Anthropic provider: chat-completions messages and tools become a Messages
API request (system on top, tool_use / tool_result blocks, merged tool results, input_schema),
the answer comes back as a `ChatResponse` whose assistant message converts back to the same
tool_use blocks; over real HTTP with the scripted Anthropic server, 5xx is retried and an
error names the status and the API's message, never the key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from runner.chat.anthropic_provider import (
    AnthropicProvider,
    parse_message,
    to_messages_request,
)
from runner.chat.provider import ProviderSettings
from runner.engines.base import EngineError
from runner.engines.openai.client import RetryPolicy
from runner.engines.openai.wire import ChatResponse, TokenUsage, ToolCallRequest
from tests.scripted_model import Fault, Turn, running_model_server, tool_turn

KEY = "sk-ant-secret-for-tests"
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "A file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    },
    {"type": "function", "function": {"name": "ping"}},
]
CALLS = (
    ToolCallRequest(id="toolu_a", name="read_file", arguments='{"path": "a.md"}'),
    ToolCallRequest(id="toolu_b", name="read_file", arguments='{"path": "b.md"}'),
)


def conversation() -> list[dict[str, Any]]:
    answer = ChatResponse(content="Reading both.", tool_calls=CALLS)
    return [
        {"role": "system", "content": "You are the assistant."},
        {"role": "user", "content": "What do a.md and b.md say?"},
        answer.assistant_message(),
        {"role": "tool", "tool_call_id": "toolu_a", "content": "A says 1"},
        {"role": "tool", "tool_call_id": "toolu_b", "content": "B says 2"},
        {"role": "assistant", "content": "1 and 2."},
        {"role": "user", "content": "Thanks."},
    ]


def test_the_conversation_becomes_a_messages_request() -> None:
    body = to_messages_request(conversation(), TOOLS, model="claude-test", max_tokens=100)
    assert body["model"] == "claude-test" and body["max_tokens"] == 100
    assert body["system"] == "You are the assistant."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What do a.md and b.md say?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading both."},
                {
                    "type": "tool_use",
                    "id": "toolu_a",
                    "name": "read_file",
                    "input": {"path": "a.md"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_b",
                    "name": "read_file",
                    "input": {"path": "b.md"},
                },
            ],
        },
        {  # both results in one user message
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "A says 1"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "B says 2"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "1 and 2."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks."}]},
    ]
    assert body["tools"] == [
        {
            "name": "read_file",
            "description": "A file.",
            "input_schema": TOOLS[0]["function"]["parameters"],
        },
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_empty_assistant_messages_are_left_out_and_the_roles_still_alternate() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "x", "arguments": "not json"}}
            ],
        },
    ]
    body = to_messages_request(messages, [], model="m")
    assert "system" not in body and "tools" not in body
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}],
        },
    ]


def test_an_answer_becomes_a_chat_response_and_converts_back() -> None:
    answer = parse_message(
        {
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_x", "name": "read_file", "input": {"path": "a"}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 12, "output_tokens": 5},
        }
    )
    assert answer.content == "Let me look."
    assert answer.tool_calls == (ToolCallRequest("toolu_x", "read_file", '{"path": "a"}'),)
    assert answer.usage == TokenUsage(12, 5)
    assert (answer.finish_reason, answer.model) == ("tool_use", "claude-test")
    again = to_messages_request([answer.assistant_message()], [], model="m")["messages"]
    assert again == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_x", "name": "read_file", "input": {"path": "a"}},
            ],
        }
    ]
    with pytest.raises(ValueError):
        parse_message({"type": "error"})


async def no_sleep(_: float) -> None:
    return None


def provider(base_url: str) -> AnthropicProvider:
    return AnthropicProvider(
        ProviderSettings(base_url=base_url, model="claude-test", api_key=KEY),
        retry=RetryPolicy(max_attempts=3, max_connect_attempts=1),
        sleep=no_sleep,
    )


async def complete(model: AnthropicProvider, messages: list[dict[str, Any]]) -> ChatResponse:
    try:
        return await model.complete(messages, tools=TOOLS, correlation_id="c1")
    finally:
        await model.aclose()


def test_over_http_with_retries_of_5xx() -> None:
    turns = [
        Turn(
            text="Reading.",
            tool_calls=tool_turn("read_file", {"path": "a.md"}).tool_calls,
            fault=Fault(status=529, times=1),
        ),
    ]
    with running_model_server("anthropic", turns) as server:
        retries: list[str] = []
        model = provider(server.base_url)

        async def go() -> ChatResponse:
            try:
                return await model.complete(
                    conversation()[:2],
                    tools=TOOLS,
                    correlation_id="c1",
                    on_retry=lambda reason, _: retries.append(reason),
                )
            finally:
                await model.aclose()

        answer = asyncio.run(go())
        assert answer.content == "Reading."
        [call] = answer.tool_calls
        assert (call.name, json.loads(call.arguments)) == ("read_file", {"path": "a.md"})
        assert len(retries) == 1 and "529" in retries[0] and "overloaded_error" in retries[0]
        first, second = server.requests
        assert (first.role, first.status, second.role) == ("fault", 529, "turn")
        assert second.path == "/v1/messages"
        assert second.headers["x-api-key"] == KEY
        assert second.headers["anthropic-version"] == "2023-06-01"
        assert second.body["system"] == "You are the assistant."
        assert second.body["model"] == "claude-test"
        assert second.body["tools"][0]["name"] == "read_file"


def test_errors_name_the_status_and_message_never_the_key() -> None:
    with running_model_server(
        "anthropic", [Turn(text="never", fault=Fault(status=500, times=3))]
    ) as server:
        with pytest.raises(EngineError) as failed:
            asyncio.run(complete(provider(server.base_url), conversation()[:2]))
        message = str(failed.value)
        assert "500 from" in message and "api_error: Internal server error" in message
        assert "gave up after 3 attempts" in message
        assert [r.status for r in server.requests] == [500, 500, 500]
    refusal = Fault(status=401, message=f"invalid x-api-key {KEY}")
    with running_model_server("anthropic", [Turn(text="never", fault=refusal)]) as server:
        with pytest.raises(EngineError) as refused:
            asyncio.run(complete(provider(server.base_url), conversation()[:2]))
        message = str(refused.value)
        assert "401" in message and "check ANTHROPIC_API_KEY" in message
        assert "invalid x-api-key ***" in message
        assert KEY not in message and KEY not in repr(provider(server.base_url))
        assert len(server.requests) == 1  # not retried


def test_a_key_is_required() -> None:
    with pytest.raises(EngineError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider(ProviderSettings(base_url="http://127.0.0.1:9", model="m"))
