"""A streamed Messages API answer (server-sent events) rebuilt as a `ChatResponse`, without I/O.

`MessageStream` is fed the stream's lines one at a time: `message_start` (model, input tokens),
`content_block_start` (a text or `tool_use` block, by `index`), `content_block_delta`
(`text_delta`, returned so it can be shown at once; `input_json_delta`, whose `partial_json`
pieces make the tool call's arguments), `content_block_stop`, `message_delta` (stop reason,
output tokens), `message_stop`; `ping` and unknown events are ignored. An `error` event raises
`StreamErrorEvent`; anything else unusable (bad JSON, a delta for a block that never started, no
`message_stop`) raises `MalformedStream`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.engines.openai.wire import ChatResponse, TokenUsage, ToolCallRequest

__all__ = ["MalformedStream", "MessageStream", "StreamErrorEvent", "parse_stream"]


class MalformedStream(ValueError):
    """The stream could not be understood, or it ended before `message_stop`."""


class StreamErrorEvent(Exception):
    """The API sent an `error` event (`overloaded_error`, `api_error`...) inside the stream."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass
class _Block:
    kind: str  # "text", "tool_use", or another type whose deltas are ignored
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)  # text, or pieces of the input's JSON


class MessageStream:
    """One streamed Message, assembled from its SSE lines (`feed`) into a `ChatResponse`."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._blocks: dict[int, _Block] = {}
        self._model: str | None = None
        self._usage: dict[str, int] = {}
        self._stop_reason: str | None = None
        self.stopped = False  # `message_stop` arrived

    def feed(self, line: str) -> str:
        """One line of the stream (without its newline); the answer text it adds, or ""."""
        if line.strip():
            field_name, _, value = line.partition(":")
            if field_name == "data":
                self._data.append(value[1:] if value.startswith(" ") else value)
            return ""  # `event:` repeats the data's `type`; comments and `id:` are not needed
        return self._dispatch()

    def result(self) -> ChatResponse:
        """The answer, once the stream has ended; `MalformedStream` if it was cut short."""
        self._dispatch()  # a last event without its blank line
        if not self.stopped:
            raise MalformedStream("the stream ended before message_stop: the answer is incomplete")
        blocks = [self._blocks[i] for i in sorted(self._blocks)]
        usage = None
        if self._usage:
            usage = TokenUsage(
                input_tokens=self._usage.get("input_tokens", 0),
                output_tokens=self._usage.get("output_tokens", 0),
            )
        return ChatResponse(
            content="".join("".join(b.parts) for b in blocks if b.kind == "text"),
            tool_calls=tuple(
                _tool_call(index, block)
                for index, block in sorted(self._blocks.items())
                if block.kind == "tool_use"
            ),
            usage=usage,
            finish_reason=self._stop_reason,
            model=self._model,
        )

    def _dispatch(self) -> str:
        if not self._data:
            return ""
        data, self._data = "\n".join(self._data), []
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise MalformedStream(f"an event that is not JSON: {data[:200]!r}") from None
        if not isinstance(event, Mapping):
            raise MalformedStream(f"an event that is not a JSON object: {data[:200]!r}")
        if self.stopped:
            return ""  # nothing counts after message_stop
        return self._event(event)

    def _event(self, event: Mapping[str, Any]) -> str:
        kind = event.get("type")
        if kind == "message_start":
            self._message_start(_mapping(event.get("message")))
        elif kind == "content_block_start":
            block = _block(_mapping(event.get("content_block")))
            self._blocks[self._index(event)] = block
            return "".join(block.parts) if block.kind == "text" else ""
        elif kind == "content_block_delta":
            return self._delta(self._index(event), _mapping(event.get("delta")))
        elif kind == "message_delta":
            stop = _mapping(event.get("delta")).get("stop_reason")
            self._stop_reason = stop if isinstance(stop, str) and stop else self._stop_reason
            self._add_usage(_mapping(event.get("usage")))
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            error = _mapping(event.get("error"))
            raise StreamErrorEvent(
                str(error.get("type") or "error"), str(error.get("message") or "no message")
            )
        return ""  # content_block_stop, ping, and events added to the API later

    def _message_start(self, message: Mapping[str, Any]) -> None:
        model = message.get("model")
        self._model = model if isinstance(model, str) and model else None
        self._add_usage(_mapping(message.get("usage")))

    def _add_usage(self, usage: Mapping[str, Any]) -> None:
        for name in ("input_tokens", "output_tokens"):
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                self._usage[name] = value  # message_delta's counts are cumulative

    def _index(self, event: Mapping[str, Any]) -> int:
        index = event.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise MalformedStream(f"a {event.get('type')} event without an index")
        return index

    def _delta(self, index: int, delta: Mapping[str, Any]) -> str:
        block = self._blocks.get(index)
        if block is None:
            raise MalformedStream(f"a delta for content block {index}, which never started")
        kind = delta.get("type")
        if kind == "text_delta" and block.kind == "text":
            text = str(delta.get("text") or "")
            block.parts.append(text)
            return text
        if kind == "input_json_delta" and block.kind == "tool_use":
            block.parts.append(str(delta.get("partial_json") or ""))
        elif kind in ("text_delta", "input_json_delta"):
            raise MalformedStream(f"a {kind} for content block {index}, a {block.kind} block")
        return ""  # thinking, signatures, citations: not part of the answer's text


def parse_stream(
    lines: Iterable[str], on_text: Callable[[str], None] | None = None
) -> ChatResponse:
    """A whole stream's lines as a `ChatResponse`, telling `on_text` each text delta."""
    stream = MessageStream()
    for line in lines:
        text = stream.feed(line)
        if text and on_text is not None:
            on_text(text)
        if stream.stopped:
            break
    return stream.result()


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _block(block: Mapping[str, Any]) -> _Block:
    kind = str(block.get("type") or "")
    if kind == "tool_use":
        return _Block(kind, id=str(block.get("id") or ""), name=str(block.get("name") or ""))
    return _Block(kind, parts=[str(block.get("text") or "")] if kind == "text" else [])


def _tool_call(index: int, block: _Block) -> ToolCallRequest:
    """The block's arguments as JSON: `{}` when none came; as sent when they are not JSON."""
    raw = "".join(block.parts)
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        value = None  # cut short (max_tokens): the loop tells the model they were not JSON
    arguments = json.dumps(value) if isinstance(value, dict) else raw
    return ToolCallRequest(id=block.id or f"toolu_{index}", name=block.name, arguments=arguments)
