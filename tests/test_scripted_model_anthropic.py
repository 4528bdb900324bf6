"""The scripted Anthropic Messages server, seen through the real `anthropic` client and httpx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageParam

from tests.scripted_model import ModelServer, Turn, running_model_server, text_turn, tool_turn
from tests.scripted_model.anthropic_api import auxiliary_reason

pytestmark = pytest.mark.timeout(60)

WRITE_INPUT = {"file_path": "/tmp/out.txt", "content": "line one\nline two with a longer tail\n"}
ASK: list[MessageParam] = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server() -> Iterator[ModelServer]:
    script = [
        tool_turn("Write", WRITE_INPUT, text="I will write the file."),
        text_turn("All done."),
    ]
    with running_model_server("anthropic", script) as running:
        yield running


def client(server: ModelServer, **kwargs: object) -> anthropic.Anthropic:
    options: dict[str, object] = {"max_retries": 0, "timeout": 10.0, **kwargs}
    return anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-test", **options)  # type: ignore[arg-type]


def first_text(message: Message) -> str:
    block = message.content[0]
    assert block.type == "text"
    return block.text


def test_streamed_tool_use_is_reassembled_by_the_client(server: ModelServer) -> None:
    with client(server).messages.stream(
        model="claude-scripted", max_tokens=1024, messages=ASK
    ) as stream:
        event_types = [event.type for event in stream]
        message = stream.get_final_message()
    assert message.id.startswith("msg_")
    assert message.model == "claude-scripted"
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert text.type == "text" and text.text == "I will write the file."
    assert tool.type == "tool_use" and tool.id.startswith("toolu_")
    assert tool.name == "Write" and tool.input == WRITE_INPUT
    assert message.usage.output_tokens > 1 and message.usage.input_tokens > 0
    assert event_types.count("input_json") >= 3  # the JSON arrived in several partial chunks
    assert server.turns_served == 1


def test_raw_sse_events_are_named_and_ordered_like_the_real_api(server: ModelServer) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    body = {"model": "m", "max_tokens": 10, "messages": ASK, "stream": True}
    with httpx.stream("POST", f"{server.base_url}/v1/messages", json=body, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                assert data["type"] == name
                events.append((name, data))
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert isinstance(start, dict)
    assert set(start["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    partial = [
        d["delta"]["partial_json"]  # type: ignore[index]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"  # type: ignore[index]
    ]
    assert len(partial) >= 3 and json.loads("".join(partial)) == WRITE_INPUT
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


def test_non_streaming_message_and_exhausted_script(server: ModelServer) -> None:
    api = client(server)
    first = api.messages.create(model="claude-scripted", max_tokens=100, messages=ASK)
    assert [block.type for block in first.content] == ["text", "tool_use"]
    second = api.messages.create(model="claude-scripted", max_tokens=100, messages=ASK)
    assert first_text(second) == "All done."
    assert second.stop_reason == "end_turn"
    assert not server.exhausted
    third = api.messages.create(model="claude-scripted", max_tokens=100, messages=ASK)
    assert "no more turns" in first_text(third)
    assert server.exhausted and server.turns_served == 2
    assert [r.role for r in server.requests] == ["turn", "turn", "exhausted"]
    assert [r.turn_index for r in server.requests] == [0, 1, None]


def test_requests_are_recorded_with_headers_and_body(server: ModelServer) -> None:
    client(server).messages.create(model="claude-x", max_tokens=7, messages=ASK)
    (recorded,) = server.requests
    # this anthropic client sends the key as a bearer token; the Claude CLI uses x-api-key
    key_headers = (recorded.headers.get("x-api-key"), recorded.headers.get("authorization"))
    assert "sk-ant-test" in key_headers or "Bearer sk-ant-test" in key_headers
    assert recorded.headers["anthropic-version"]
    assert recorded.body["max_tokens"] == 7 and recorded.body["model"] == "claude-x"
    listed = httpx.get(f"{server.root_url}/_scripted/requests", timeout=5).json()
    assert listed[0]["body"]["messages"] == ASK and listed[0]["role"] == "turn"


def test_max_tokens_stop_reason_is_scripted() -> None:
    with running_model_server("anthropic", [Turn(text="cut", stop_reason="max_tokens")]) as srv:
        message = client(srv).messages.create(model="m", max_tokens=1, messages=ASK)
    assert message.stop_reason == "max_tokens"


def test_count_tokens_and_probes_do_not_consume_turns(server: ModelServer) -> None:
    count = client(server).messages.count_tokens(model="m", messages=ASK)
    assert count.input_tokens > 0
    assert httpx.head(f"{server.root_url}/api/hello", timeout=5).status_code == 200
    models = httpx.get(f"{server.root_url}/v1/models", timeout=5).json()
    assert models["data"][0]["type"] == "model"
    missing = httpx.post(f"{server.root_url}/v1/nothing", json={}, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    assert server.turns_served == 0
    assert [r.role for r in server.requests] == ["auxiliary"] * 3 + ["unknown"]


def test_claude_code_title_request_is_auxiliary() -> None:
    title_request = {
        "model": "claude-opus-5-5",
        "system": [
            {
                "type": "text",
                "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
            },
            {"type": "text", "text": "You are naming a coding session ... The title is a name"},
        ],
        "messages": ASK,
        "output_config": {
            "format": {
                "type": "json_schema",
                "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            }
        },
    }
    with running_model_server("anthropic", [text_turn("the real turn")]) as srv:
        response = httpx.post(f"{srv.root_url}/v1/messages", json=title_request, timeout=5)
        assert json.loads(response.json()["content"][0]["text"]) == {"title": "Scripted session"}
        assert srv.turns_served == 0 and srv.requests[0].note == "title generation"
    assert auxiliary_reason(title_request, {"x-app": "cli"}) == "title generation"
    agent_loop = {**title_request, "tools": [{"name": "Write"}]}
    assert auxiliary_reason(agent_loop, {"x-app": "cli"}) is None
    plain_client = {"model": "m", "messages": ASK, "system": "You name things: give a title"}
    assert auxiliary_reason(plain_client, {}) is None


def test_429_and_529_reach_a_client_without_retries() -> None:
    script = [
        {"text": "after 429", "fault": {"status": 429, "retry_after": 7}},
        {"text": "after 529", "fault": {"status": 529}},
    ]
    with running_model_server("anthropic", script) as srv:
        api = client(srv)
        with pytest.raises(anthropic.RateLimitError) as limited:
            api.messages.create(model="m", max_tokens=5, messages=ASK)
        assert limited.value.response.headers["retry-after"] == "7"
        assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert first_text(api.messages.create(model="m", max_tokens=5, messages=ASK)) == (
            "after 429"
        )
        with pytest.raises(anthropic.OverloadedError) as overloaded:
            api.messages.create(model="m", max_tokens=5, messages=ASK, stream=True)
        assert overloaded.value.status_code == 529
        assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
        assert [r.role for r in srv.requests] == ["fault", "turn", "fault"]


def test_a_retrying_client_gets_the_turn_after_the_faults() -> None:
    script = [
        {"text": "made it", "fault": {"status": 429, "times": 1, "retry_after": 0.1}},
        {"text": "again", "fault": {"status": 529, "times": 1, "retry_after": 0.1}},
        {"text": "and again", "fault": {"status": 500, "times": 1, "retry_after": 0.1}},
    ]
    with running_model_server("anthropic", script) as srv:
        api = client(srv, max_retries=2)
        texts = [
            first_text(api.messages.create(model="m", max_tokens=5, messages=ASK)) for _ in range(3)
        ]
        assert texts == ["made it", "again", "and again"]
        assert [r.status for r in srv.requests] == [429, 200, 529, 200, 500, 200]


def test_a_stall_past_the_client_timeout_is_a_timeout_and_blocks_nothing_else() -> None:
    with running_model_server("anthropic", [{"text": "late", "stall": 30}]) as srv:
        started = time.monotonic()
        with pytest.raises(anthropic.APITimeoutError):
            client(srv, timeout=0.5).messages.create(model="m", max_tokens=5, messages=ASK)
        assert time.monotonic() - started < 5
        # the stalled request is still held open; the same server keeps answering
        count = client(srv).messages.count_tokens(model="m", messages=ASK)
        assert count.input_tokens > 0
        served = client(srv).messages.create(model="m", max_tokens=5, messages=ASK)
        assert first_text(served) == "late"
        assert [r.role for r in srv.requests] == ["stall", "auxiliary", "turn"]
    assert time.monotonic() - started < 10  # leaving stopped the stalled request early
