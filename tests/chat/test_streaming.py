"""The client's `on_text` callback: text as it streams in, or once for a plain answer."""

from __future__ import annotations

import asyncio

from runner.engines.openai.client import OpenAICompatibleClient
from tests.scripted_model import running_model_server, text_turn, tool_turn

LONG = "The answer arrives in several pieces, each one shown as soon as it comes."


def collect(base_url: str, *, stream: bool) -> tuple[list[str], str]:
    pieces: list[str] = []

    async def go() -> str:
        async with OpenAICompatibleClient(base_url, stream=stream) as client:
            answer = await client.complete(
                [{"role": "user", "content": "hi"}], model="m", on_text=pieces.append
            )
            return answer.content

    return pieces, asyncio.run(go())


def test_streamed_text_arrives_in_pieces() -> None:
    with running_model_server("openai", [text_turn(LONG)]) as server:
        pieces, content = collect(server.base_url, stream=True)
    assert len(pieces) > 1
    assert "".join(pieces) == content == LONG


def test_a_plain_answer_is_told_once() -> None:
    with running_model_server("openai", [text_turn(LONG)]) as server:
        pieces, content = collect(server.base_url, stream=False)
    assert pieces == [LONG] == [content]


def test_tool_calls_alone_give_no_text() -> None:
    with running_model_server("openai", [tool_turn("read_file", {"path": "a"})]) as server:
        pieces, content = collect(server.base_url, stream=True)
    assert pieces == [] and content == ""


def test_without_a_callback_nothing_changes() -> None:
    async def go(base_url: str) -> str:
        async with OpenAICompatibleClient(base_url) as client:
            answer = await client.complete([{"role": "user", "content": "hi"}], model="m")
            return answer.content

    with running_model_server("openai", [text_turn(LONG)]) as server:
        assert asyncio.run(go(server.base_url)) == LONG
