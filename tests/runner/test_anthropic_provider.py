"""The assistant's Anthropic provider: chat-completions messages and tools become a Messages
API request (system on top, tool_use / tool_result blocks, merged tool results, input_schema),
the answer comes back as a `ChatResponse` whose assistant message converts back to the same
tool_use blocks; the streamed answer's events (text deltas, tool input in pieces, usage, stop
reason, error events, a stream cut short) are rebuilt by the pure `MessageStream`; over real
HTTP with the scripted Anthropic server the text reaches `on_text` piece by piece, 5xx is
retried and an error names the status and the API's message, never the key; over a mock
transport, an error event is retried only while no text has been shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from runner.chat.anthropic_provider import (
    AnthropicProvider,
    parse_message,
    to_messages_request,
)
from runner.chat.anthropic_stream import (
    MalformedStream,
    MessageStream,
    StreamErrorEvent,
    parse_stream,
)
from runner.chat.provider import ProviderSettings
from runner.engines.base import EngineError
from runner.engines.openai.client import RetryPolicy
from runner.engines.openai.wire import ChatResponse, TokenUsage, ToolCallRequest
from tests.scripted_model import Fault, Turn, running_model_server, tool_turn
from tests.scripted_model.anthropic_api import message_events
from tests.scripted_model.wire import split_text

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


# The streamed answer, event by event.

MESSAGE_START: dict[str, Any] = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 21, "output_tokens": 1},
    },
}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def text_block(index: int, *pieces: str) -> list[dict[str, Any]]:
    return [
        block_start(index, {"type": "text", "text": ""}),
        *(block_delta(index, {"type": "text_delta", "text": p}) for p in pieces),
        {"type": "content_block_stop", "index": index},
    ]


def tool_block(index: int, call_id: str, name: str, *pieces: str) -> list[dict[str, Any]]:
    return [
        block_start(index, {"type": "tool_use", "id": call_id, "name": name, "input": {}}),
        *(block_delta(index, {"type": "input_json_delta", "partial_json": p}) for p in pieces),
        {"type": "content_block_stop", "index": index},
    ]


def finish(stop_reason: str, output_tokens: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def sse_lines(*events: dict[str, Any]) -> list[str]:
    """The events as a stream's lines: `event:`, `data:` and a blank line each."""
    return [line for e in events for line in (f"event: {e['type']}", f"data: {json.dumps(e)}", "")]


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_a_streamed_answer_tells_each_text_delta_in_order() -> None:
    shown: list[str] = []
    events = [MESSAGE_START, *text_block(0, "Hel", "lo, ", "world."), *finish("end_turn", 7)]
    events.insert(2, {"type": "ping"})
    answer = parse_stream(sse_lines(*events), shown.append)
    assert shown == ["Hel", "lo, ", "world."]
    assert answer == ChatResponse(
        content="Hello, world.",
        usage=TokenUsage(21, 7),
        finish_reason="end_turn",
        model="claude-test",
    )


def test_tool_input_arrives_in_pieces_and_becomes_the_arguments() -> None:
    events = [
        MESSAGE_START,
        *text_block(0, "Reading."),
        *tool_block(1, "toolu_a", "read_file", "", '{"pa', 'th": "a', '.md"}'),
        *tool_block(2, "toolu_b", "ping", ""),
        *tool_block(3, "", "ping"),
        *finish("tool_use", 30),
    ]
    shown: list[str] = []
    answer = parse_stream(sse_lines(*events), shown.append)
    assert shown == ["Reading."] and answer.content == "Reading."
    assert answer.tool_calls == (
        ToolCallRequest("toolu_a", "read_file", '{"path": "a.md"}'),
        ToolCallRequest("toolu_b", "ping", "{}"),  # no input: {}
        ToolCallRequest("toolu_3", "ping", "{}"),
    )
    assert (answer.finish_reason, answer.usage) == ("tool_use", TokenUsage(21, 30))
    # Input cut short by max_tokens stays as sent: the loop tells the model it is not JSON.
    cut = [MESSAGE_START, *tool_block(0, "toolu_c", "read_file", '{"path": "a'), *finish("x", 1)]
    assert parse_stream(sse_lines(*cut)).tool_calls[0].arguments == '{"path": "a'


def test_the_scripted_servers_stream_gives_the_same_answer_as_its_plain_message() -> None:
    turn = tool_turn("read_file", {"path": "a.md"}, text="Let me look at a.md first.")
    lines = [
        line
        for name, data in message_events(turn, model="claude-test", in_tokens=50)
        for line in (f"event: {name}", f"data: {json.dumps(data)}", "")
    ]
    shown: list[str] = []
    answer = parse_stream(lines, shown.append)
    assert shown == split_text("Let me look at a.md first.") and len(shown) > 1
    assert answer.content == "Let me look at a.md first."
    [call] = answer.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("read_file", {"path": "a.md"})
    assert answer.finish_reason == "tool_use" and answer.model == "claude-test"
    assert answer.usage is not None and answer.usage.input_tokens == 50
    assert answer.usage.output_tokens > 1  # message_delta's count, not message_start's


def test_comments_are_skipped_and_the_last_event_needs_no_blank_line() -> None:
    lines = [
        ": keep-alive",
        *sse_lines(MESSAGE_START, *text_block(0, "Hi"), *finish("end_turn", 2)),
    ]
    stream = MessageStream()
    shown = [text for line in lines[:-1] if (text := stream.feed(line))]
    assert shown == ["Hi"] and not stream.stopped
    assert stream.result().content == "Hi" and stream.stopped
    assert stream.feed("data: {not json, but after message_stop}") == ""


def test_an_error_event_raises_with_its_type_and_message() -> None:
    shown: list[str] = []
    lines = sse_lines(MESSAGE_START, *text_block(0, "Partial")[:2], OVERLOADED)
    with pytest.raises(StreamErrorEvent) as failed:
        parse_stream(lines, shown.append)
    assert (failed.value.kind, failed.value.message) == ("overloaded_error", "Overloaded")
    assert shown == ["Partial"]


@pytest.mark.parametrize(
    ("lines", "complaint"),
    [
        (sse_lines(MESSAGE_START, *text_block(0, "Cut")), "ended before message_stop"),
        ([], "ended before message_stop"),
        (["event: message_start", "data: {not json", ""], "not JSON"),
        (["data: [1, 2]", ""], "not a JSON object"),
        (
            sse_lines(MESSAGE_START, block_delta(3, {"type": "text_delta", "text": "x"})),
            "content block 3, which never started",
        ),
        (sse_lines({"type": "content_block_start", "content_block": {}}), "without an index"),
        (
            sse_lines(*tool_block(0, "t", "x")[:1], block_delta(0, {"type": "text_delta"})),
            "a text_delta for content block 0, a tool_use block",
        ),
    ],
)
def test_a_malformed_stream_says_what_is_wrong(lines: list[str], complaint: str) -> None:
    with pytest.raises(MalformedStream, match=complaint):
        parse_stream(lines)


def test_over_http_the_text_streams_to_on_text_piece_by_piece() -> None:
    text = "Both files say the same thing, in different words."
    turns = [Turn(text=text), tool_turn("read_file", {"path": "a.md"}, text="Reading a.md.")]
    with running_model_server("anthropic", turns) as server:
        model = provider(server.base_url)
        shown: list[list[str]] = [[], []]

        async def go() -> list[ChatResponse]:
            try:
                return [
                    await model.complete(
                        conversation()[:2], tools=TOOLS, correlation_id="c1", on_text=seen.append
                    )
                    for seen in shown
                ]
            finally:
                await model.aclose()

        said, called = asyncio.run(go())
        assert shown == [split_text(text), split_text("Reading a.md.")]
        assert len(shown[0]) == 3
        assert (said.content, said.tool_calls, said.finish_reason) == (text, (), "end_turn")
        assert said.model == "claude-test" and said.usage is not None
        assert said.usage.input_tokens > 0 and said.usage.output_tokens > 1
        assert called.content == "Reading a.md." and called.finish_reason == "tool_use"
        [call] = called.tool_calls
        assert (call.name, json.loads(call.arguments)) == ("read_file", {"path": "a.md"})
        assert call.id.startswith("toolu_")
        assert [r.body["stream"] for r in server.requests] == [True, True]


# Over a mock transport: error events and broken streams, which the scripted server never sends.


def sse_response(*events: dict[str, Any], cut: int = 0) -> httpx.Response:
    body = "".join(f"{line}\n" for line in sse_lines(*events))
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=body[: len(body) - cut].encode(),
    )


def answer_with(
    responses: list[httpx.Response],
) -> tuple[list[str], list[str], list[httpx.Request], ChatResponse | EngineError]:
    """Text shown, retry reasons, requests made, and the answer or error."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return responses[len(requests) - 1]

    model = AnthropicProvider(
        ProviderSettings(base_url="http://anthropic.test", model="claude-test", api_key=KEY),
        retry=RetryPolicy(max_attempts=3, max_connect_attempts=1),
        sleep=no_sleep,
        transport=httpx.MockTransport(handle),
    )
    shown: list[str] = []
    retries: list[str] = []

    async def go() -> ChatResponse:
        try:
            return await model.complete(
                conversation()[:2],
                tools=TOOLS,
                correlation_id="c1",
                on_text=shown.append,
                on_retry=lambda reason, _: retries.append(reason),
            )
        finally:
            await model.aclose()

    try:
        answer: ChatResponse | EngineError = asyncio.run(go())
    except EngineError as exc:
        answer = exc
    return shown, retries, requests, answer


FINE = (MESSAGE_START, *text_block(0, "Fine", "."), *finish("end_turn", 3))


def test_an_overloaded_event_before_any_text_is_retried() -> None:
    shown, retries, requests, answer = answer_with(
        [sse_response(MESSAGE_START, OVERLOADED), sse_response(*FINE)]
    )
    assert answer == ChatResponse("Fine.", (), TokenUsage(21, 3), "end_turn", "claude-test")
    assert shown == ["Fine", "."]
    [reason] = retries
    assert "overloaded_error: Overloaded in the stream from http://anthropic.test" in reason
    assert len(requests) == 2 and json.loads(requests[0].content)["stream"] is True


def test_an_error_event_after_text_is_not_retried() -> None:
    api_error = {"type": "error", "error": {"type": "api_error", "message": "Internal error"}}
    events = (MESSAGE_START, *text_block(0, "Half an ")[:2], api_error)
    shown, retries, requests, answer = answer_with([sse_response(*events), sse_response(*FINE)])
    assert isinstance(answer, EngineError)
    assert "api_error: Internal error in the stream" in str(answer)
    assert "after part of the answer had arrived" in str(answer)
    assert (shown, retries, len(requests)) == (["Half an "], [], 1)


def test_other_error_events_say_what_to_check_never_the_key() -> None:
    refusal = {
        "type": "error",
        "error": {"type": "authentication_error", "message": f"invalid x-api-key {KEY}"},
    }
    odd = {"type": "error", "error": {"type": "brand_new_error", "message": "Something"}}
    for event, expected in [
        (refusal, "authentication_error: invalid x-api-key *** in the stream"),
        (odd, "brand_new_error: Something in the stream"),
    ]:
        _, retries, requests, answer = answer_with([sse_response(MESSAGE_START, event)] * 3)
        assert isinstance(answer, EngineError) and expected in str(answer)
        assert KEY not in str(answer) and retries == [] and len(requests) == 1
    assert "check ANTHROPIC_API_KEY" in str(answer_with([sse_response(refusal)])[3])


def test_a_broken_stream_is_an_engine_error_not_a_retry() -> None:
    for response, complaint in [
        (sse_response(*FINE, cut=30), "ended before message_stop"),  # cut in message_stop
        (sse_response(*FINE[:-2]), "ended before message_stop"),
        (
            httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=b"data: {oops\n\n"
            ),
            "an event that is not JSON: '{oops'",
        ),
    ]:
        _, retries, requests, answer = answer_with([response, sse_response(*FINE)])
        assert isinstance(answer, EngineError), answer
        assert "http://anthropic.test/v1/messages sent an unusable stream" in str(answer)
        assert complaint in str(answer)
        assert retries == [] and len(requests) == 1


def test_a_plain_message_is_still_understood_and_shown_at_once() -> None:
    plain = {
        "type": "message",
        "model": "claude-test",
        "content": [{"type": "text", "text": "Not streamed."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 4, "output_tokens": 2},
    }
    shown, _, _, answer = answer_with([httpx.Response(200, json=plain)])
    assert shown == ["Not streamed."]
    assert answer == ChatResponse("Not streamed.", (), TokenUsage(4, 2), "end_turn", "claude-test")
