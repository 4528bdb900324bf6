"""The scripted OpenAI chat-completions server, seen through the real `openai` client and httpx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.scripted_model import ModelServer, Turn, running_model_server, text_turn
from tests.scripted_model.script import ToolCall

pytestmark = pytest.mark.timeout(60)

ARGS = {"path": "src/app.py", "content": "print('hello, scripted world')\n"}
ASK: list[Any] = [{"role": "user", "content": "write the app"}]
TOOL_TURN = Turn(
    text="Writing it now.", tool_calls=(ToolCall(name="write_file", input=ARGS, id="call_fixed1"),)
)


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with running_model_server("openai", [TOOL_TURN, text_turn("Finished.")]) as running:
        yield running


def client(server: ModelServer, **kwargs: Any) -> openai.OpenAI:
    options: dict[str, Any] = {"max_retries": 0, "timeout": 10.0, **kwargs}
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", **options)


def test_streamed_tool_call_is_reassembled_by_the_openai_client(server: ModelServer) -> None:
    stream = client(server).chat.completions.create(
        model="qwen-coder", messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    text, name, call_id, arguments, finish, usage = "", "", "", "", None, None
    argument_chunks = 0
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk" and chunk.model == "qwen-coder"
        if chunk.usage is not None:
            assert chunk.choices == []
            usage = chunk.usage
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for call in choice.delta.tool_calls or []:
            assert call.index == 0
            call_id = call.id or call_id
            name = (call.function and call.function.name) or name
            if call.function and call.function.arguments:
                arguments += call.function.arguments
                argument_chunks += 1
        finish = choice.finish_reason or finish
    assert text == "Writing it now."
    assert (name, call_id) == ("write_file", "call_fixed1")
    assert json.loads(arguments) == ARGS and argument_chunks >= 3
    assert finish == "tool_calls"
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert server.turns_served == 1


def test_streamed_tool_call_with_plain_httpx_sse(server: ModelServer) -> None:
    body = {
        "model": "m",
        "messages": ASK,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks: list[dict[str, Any]] = []
    done = False
    url = f"{server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                continue
            assert line.startswith("data: ") and not done
            payload = line.removeprefix("data: ")
            if payload == "[DONE]":
                done = True
            else:
                chunks.append(json.loads(payload))
    assert done
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"]]
    calls = [call[0] for call in calls if call]
    assert calls[0]["function"]["name"] == "write_file" and calls[0]["id"] == "call_fixed1"
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == ARGS
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_non_streaming_completion_then_exhausted(server: ModelServer) -> None:
    api = client(server)
    first = api.chat.completions.create(model="m", messages=ASK)
    assert first.object == "chat.completion" and first.choices[0].finish_reason == "tool_calls"
    (call,) = first.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "write_file" and json.loads(call.function.arguments) == ARGS
    assert first.usage is not None and first.usage.total_tokens > 0
    second = api.chat.completions.create(model="m", messages=ASK)
    assert second.choices[0].message.content == "Finished."
    assert second.choices[0].finish_reason == "stop"
    third = api.chat.completions.create(model="m", messages=ASK, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in third if chunk.choices)
    assert "no more turns" in text
    assert server.exhausted and server.turns_served == 2
    assert [r.role for r in server.requests] == ["turn", "turn", "exhausted"]
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_models_endpoint_does_not_consume_turns(server: ModelServer) -> None:
    models = client(server).models.list()
    assert [m.id for m in models.data] == ["scripted-model"]
    assert server.turns_served == 0 and server.requests[0].role == "auxiliary"


def test_429_and_500_reach_a_client_without_retries() -> None:
    script = [
        {"text": "after 429", "fault": {"status": 429, "retry_after": 3}},
        {"text": "after 500", "fault": {"status": 500}},
    ]
    with running_model_server("openai", script) as srv:
        api = client(srv)
        with pytest.raises(openai.RateLimitError) as limited:
            api.chat.completions.create(model="m", messages=ASK)
        assert limited.value.response.headers["retry-after"] == "3"
        assert limited.value.code == "rate_limit_exceeded"
        assert api.chat.completions.create(model="m", messages=ASK).choices[0].message.content == (
            "after 429"
        )
        with pytest.raises(openai.InternalServerError) as failed:
            api.chat.completions.create(model="m", messages=ASK, stream=True)
        assert failed.value.type == "server_error"
        assert [r.status for r in srv.requests] == [429, 200, 500]


def test_a_retrying_client_gets_the_turn_after_the_faults() -> None:
    script = [{"text": "made it", "fault": {"status": 429, "times": 2, "retry_after": 0.1}}]
    with running_model_server("openai", script) as srv:
        reply = client(srv, max_retries=2).chat.completions.create(model="m", messages=ASK)
        assert reply.choices[0].message.content == "made it"
        assert [r.role for r in srv.requests] == ["fault", "fault", "turn"]


def test_a_stall_past_the_client_timeout_is_a_timeout() -> None:
    with running_model_server("openai", [{"text": "late", "stall": 30}]) as srv:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            client(srv, timeout=0.5).chat.completions.create(model="m", messages=ASK, stream=True)
        assert time.monotonic() - started < 5
        reply = client(srv).chat.completions.create(model="m", messages=ASK)
        assert reply.choices[0].message.content == "late"
    assert time.monotonic() - started < 10
