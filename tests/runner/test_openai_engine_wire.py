"""The chat-completions wire format without a server: chunk reassembly, plain answers,
`retry-after`, backoff."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import httpx
import pytest

from runner.engines.base import EngineError
from runner.engines.openai import OpenAICompatibleClient, RetryPolicy
from runner.engines.openai.client import parse_retry_after
from runner.engines.openai.wire import (
    ChatResponse,
    StreamAssembler,
    TokenUsage,
    ToolCallRequest,
    WireError,
    iter_sse_data,
    parse_completion,
)


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def test_assembler_joins_text_tool_calls_and_usage() -> None:
    assembler = StreamAssembler()
    for item in [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me "}),
        chunk({"content": "look."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "read_file"}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "list_di"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"pa'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "a"}'}}]}),
        chunk({}, "tool_calls", model="m1"),
        {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7}},
    ]:
        assembler.add(item)
    assert assembler.result() == ChatResponse(
        content="Let me look.",
        tool_calls=(
            ToolCallRequest("call_a", "read_file", '{"path": "a"}'),
            ToolCallRequest("call_b", "list_di", "{}"),
        ),
        usage=TokenUsage(11, 7),
        finish_reason="tool_calls",
        model="m1",
    )


def test_assembler_copes_with_missing_indexes_and_ids() -> None:
    assembler = StreamAssembler()
    assembler.add(
        chunk({"tool_calls": [{"id": "x1", "function": {"name": "a", "arguments": "{"}}]})
    )
    assembler.add(chunk({"tool_calls": [{"function": {"arguments": "}"}}]}))
    assembler.add(chunk({"tool_calls": [{"id": "x2", "function": {"name": "b", "arguments": {}}}]}))
    assembler.add(chunk({"tool_calls": [{"index": 5, "function": {"name": "c"}}]}))
    calls = assembler.result().tool_calls
    assert calls == (
        ToolCallRequest("x1", "a", "{}"),
        ToolCallRequest("x2", "b", "{}"),
        ToolCallRequest("call_5", "c", ""),
    )


def test_assembler_raises_on_an_error_chunk() -> None:
    with pytest.raises(WireError, match="overloaded"):
        StreamAssembler().add({"error": {"message": "overloaded"}})


def test_parse_completion_and_the_message_sent_back() -> None:
    body = {
        "model": "m",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "run_command", "arguments": {"x": 1}}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    response = parse_completion(body)
    assert response.tool_calls == (ToolCallRequest("c1", "run_command", '{"x": 1}'),)
    assert response.usage == TokenUsage(3, 4)
    assert response.assistant_message() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "run_command", "arguments": '{"x": 1}'},
            }
        ],
    }
    assert ChatResponse("").assistant_message() == {"role": "assistant", "content": ""}
    with pytest.raises(WireError, match="no choices"):
        parse_completion({"choices": []})


def test_sse_data_lines() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [": keep-alive", "", "event: x", 'data: {"a":', "data: 1}", "", "data:[DONE]"]:
            yield line

    async def collect() -> list[str]:
        return [data async for data in iter_sse_data(lines())]

    assert asyncio.run(collect()) == ['{"a":\n1}', "[DONE]"]


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "7"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (parse_retry_after({"retry-after": later}) or 0) <= 30


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=8, jitter=0.25)
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert policy.backoff(1, lambda: 1.0) == 1.25


def test_the_key_is_not_in_the_repr() -> None:
    client = OpenAICompatibleClient("http://127.0.0.1:1/v1/", "sk-very-secret")
    assert "sk-very-secret" not in repr(client)
    assert client.url == "http://127.0.0.1:1/v1/chat/completions"
    asyncio.run(client.aclose())


class CountingAuth(httpx.Auth):
    """A client-side token refresher like the seed's: sets the bearer token on each request."""

    def __init__(self) -> None:
        self.calls = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.calls += 1
        request.headers["Authorization"] = f"Bearer refreshed-{self.calls}"
        yield request


PLAIN_ANSWER = {
    "choices": [{"message": {"role": "assistant", "content": "plain"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1},
}


def complete_with(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Any:
    async def scenario() -> Any:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport) as http:
            client = OpenAICompatibleClient("http://model.test/v1", http=http, **options)
            return await client.complete([{"role": "user", "content": "hi"}], model="m")

    return asyncio.run(scenario())


def test_a_plain_json_answer_to_a_streaming_request_is_accepted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PLAIN_ANSWER)

    auth = CountingAuth()
    response = complete_with(
        handler, auth=auth, headers={"X-Custom-Auth": "abc"}, correlation_id="conv-1"
    )
    assert response == ChatResponse("plain", (), TokenUsage(5, 1), "stop", None)
    body = json.loads(seen[0].content)
    assert body["stream"] is True
    assert seen[0].headers["authorization"] == "Bearer refreshed-1"
    assert seen[0].headers["x-custom-auth"] == "abc"
    assert seen[0].headers["x-correlation-id"] == "conv-1"


def test_sse_without_its_content_type_is_read() -> None:
    events = [
        {"choices": [{"index": 0, "delta": {"content": "stre"}}]},
        {"choices": [{"index": 0, "delta": {"content": "amed"}, "finish_reason": "stop"}]},
    ]
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=text, headers={"content-type": "text/plain"})

    assert complete_with(handler).content == "streamed"


def test_an_html_page_is_not_a_model() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"})

    with pytest.raises(EngineError, match=r"not JSON.*AUTOCODER_BASE_URL"):
        complete_with(handler)


def test_a_404_without_a_model_hint_points_at_the_base_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="Not Found")

    with pytest.raises(EngineError, match=r"404 from http://model.test/v1/chat/completions"):
        complete_with(handler)


def test_a_stream_cut_short_is_retried() -> None:
    answers = [
        'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n',
        'data: {"choices":[{"index":0,"delta":{"content":"whole"},"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n",
    ]
    waits: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, text=answers.pop(0), headers={"content-type": "text/event-stream"}
        )

    async def scenario() -> ChatResponse:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            client = OpenAICompatibleClient(
                "http://model.test/v1", http=http, retry=RetryPolicy(base_delay_s=0.001)
            )
            return await client.complete(
                [], model="m", on_retry=lambda reason, wait: waits.append((reason, wait))
            )

    assert asyncio.run(scenario()).content == "whole"
    assert len(waits) == 1
    assert "ended before the answer was complete" in waits[0][0]
