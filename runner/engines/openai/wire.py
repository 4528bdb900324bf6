"""The chat-completions wire format, without I/O: answers, streamed chunks, SSE lines, errors.

`StreamAssembler` rebuilds one answer from `chat.completion.chunk` objects: text deltas, tool-call
deltas (matched by `index`, or by `id` for servers that leave the index out, with the name and the
arguments arriving in pieces) and the usage chunk that `stream_options.include_usage` asks for.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call as the model sent it; `arguments` is JSON text, possibly malformed."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class ChatResponse:
    content: str
    tool_calls: tuple[ToolCallRequest, ...] = ()
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    model: str | None = None

    def assistant_message(self) -> dict[str, Any]:
        """The answer as the assistant message to send back in the next request."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        elif message["content"] is None:
            message["content"] = ""
        return message


class WireError(Exception):
    """The server's answer could not be understood (bad JSON, an error inside the stream)."""


def parse_usage(data: object) -> TokenUsage | None:
    if not isinstance(data, Mapping):
        return None
    return TokenUsage(
        input_tokens=_int(data.get("prompt_tokens", data.get("input_tokens"))),
        output_tokens=_int(data.get("completion_tokens", data.get("output_tokens"))),
    )


def parse_completion(body: object) -> ChatResponse:
    """A complete (non-streamed) `chat.completion` object."""
    if not isinstance(body, Mapping):
        raise WireError(f"expected a JSON object, got {type(body).__name__}")
    if "error" in body:
        raise WireError(error_message(body))
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise WireError("the answer has no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise WireError("the answer's first choice has no message")
    calls = []
    for position, raw in enumerate(message.get("tool_calls") or ()):
        if not isinstance(raw, Mapping):
            continue
        function = raw.get("function") if isinstance(raw.get("function"), Mapping) else {}
        assert isinstance(function, Mapping)
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):  # some servers send an object, not JSON text
            arguments = json.dumps(arguments)
        calls.append(
            ToolCallRequest(
                id=str(raw.get("id") or f"call_{position}"),
                name=str(function.get("name") or ""),
                arguments=arguments,
            )
        )
    content = message.get("content")
    return ChatResponse(
        content=content if isinstance(content, str) else "",
        tool_calls=tuple(calls),
        usage=parse_usage(body.get("usage")),
        finish_reason=_str_or_none(choice.get("finish_reason")),
        model=_str_or_none(body.get("model")),
    )


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAssembler:
    """Feed it each chunk with `add`; `result()` is the whole answer."""

    _content: list[str] = field(default_factory=list)
    _calls: dict[int, _PartialCall] = field(default_factory=dict)
    _usage: TokenUsage | None = None
    _finish_reason: str | None = None
    _model: str | None = None
    chunks: int = 0

    def add(self, chunk: object) -> None:
        if not isinstance(chunk, Mapping):
            raise WireError(f"a streamed chunk is not a JSON object: {chunk!r:.100}")
        if "error" in chunk:
            raise WireError(error_message(chunk))
        self.chunks += 1
        self._model = self._model or _str_or_none(chunk.get("model"))
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            finish = _str_or_none(choice.get("finish_reason"))
            if finish:
                self._finish_reason = finish
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, Mapping):
                continue
            text = delta.get("content")
            if isinstance(text, str):
                self._content.append(text)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, Mapping):
                    self._add_call_delta(call)

    def _add_call_delta(self, delta: Mapping[str, Any]) -> None:
        call_id = _str_or_none(delta.get("id"))
        index = delta.get("index")
        if not isinstance(index, int):
            # No index: a new id starts a new call, anything else continues the last one.
            known = [i for i, c in self._calls.items() if call_id and c.id == call_id]
            if known:
                index = known[0]
            elif call_id or not self._calls:
                index = len(self._calls)
            else:
                index = max(self._calls)
        partial = self._calls.setdefault(index, _PartialCall())
        if call_id:
            partial.id = call_id
        function = delta.get("function")
        if isinstance(function, Mapping):
            name = function.get("name")
            if isinstance(name, str) and name:
                # Servers send the name once; some repeat it in every delta.
                partial.name = name if not partial.name or partial.name == name else partial.name
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                partial.arguments.append(arguments)
            elif isinstance(arguments, Mapping):
                partial.arguments.append(json.dumps(arguments))

    @property
    def finished(self) -> bool:
        return self._finish_reason is not None

    def result(self) -> ChatResponse:
        calls = tuple(
            ToolCallRequest(
                id=partial.id or f"call_{index}",
                name=partial.name,
                arguments="".join(partial.arguments),
            )
            for index, partial in sorted(self._calls.items())
        )
        return ChatResponse(
            content="".join(self._content),
            tool_calls=calls,
            usage=self._usage,
            finish_reason=self._finish_reason,
            model=self._model,
        )


async def iter_sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event (multi-line data joined by newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line.strip():
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment, often a keep-alive
        field_name, _, value = line.partition(":")
        if field_name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def error_message(body: object) -> str:
    """The human part of an error answer (`{"error": {"message": ...}}` and its variants)."""
    if isinstance(body, Mapping):
        error = body.get("error", body.get("detail", body.get("message")))
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("msg") or json.dumps(error)
            return str(message)
        if error is not None:
            return str(error)
    if isinstance(body, str):
        return body.strip()
    return json.dumps(body)[:300]


def error_code(body: object) -> str:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return str(error.get("code") or error.get("type") or "")
    return ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
