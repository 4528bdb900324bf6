"""A `ChatProvider` over Anthropic's Messages API (`POST {base}/v1/messages`, streamed).

The assistant speaks the OpenAI chat-completions shape; `to_messages_request` turns it into a
Messages API request (system prompt on top, assistant tool calls as `tool_use` blocks, tool
results as `tool_result` blocks in one user message, tools with an `input_schema`). The answer
streams as server-sent events, rebuilt by `runner.chat.anthropic_stream.MessageStream` into a
`ChatResponse` (each text delta goes to `on_text` as it arrives); a server that answers with a
plain Message instead goes through `parse_message`. The response's `assistant_message()` the
next request converts to `tool_use` blocks again. 429, 529, 5xx, timeouts and broken
connections are retried with backoff, and so is an `error` event in the stream whose type stands
for one of them (`overloaded_error`, `api_error`...), but only while no text has been shown (a
retry would show it twice); everything else, a malformed stream too, is an `EngineError` naming
the status or error type and the API's message, never the key.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from runner.chat.anthropic_stream import MalformedStream, MessageStream, StreamErrorEvent
from runner.chat.provider import CHAT_RETRY, ChatProvider, ProviderSettings
from runner.engines.base import EngineError
from runner.engines.openai.client import (
    RETRYABLE_STATUSES,
    RetryCallback,
    RetryPolicy,
    TextCallback,
    parse_retry_after,
)
from runner.engines.openai.wire import ChatResponse, TokenUsage, ToolCallRequest, error_message

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODEL",
    "AnthropicProvider",
    "parse_message",
    "to_messages_request",
]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MODEL = "claude-sonnet-4-5"  # when AUTOCODER_MODEL is not set
DEFAULT_MAX_TOKENS = 8192
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
# The HTTP status each error type stands for: an `error` event in the stream is handled as that
# status would be (retried, or an `EngineError` saying what to check).
_ERROR_STATUSES: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _text_of(content: object) -> str:
    """An OpenAI message's content as text (a string, or a list of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", None)
        )
    return ""


def _tool_input(arguments: object) -> dict[str, Any]:
    """A tool call's arguments (JSON text, or already an object) as the `input` object."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        value = json.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except json.JSONDecodeError:
        return {}  # the loop already told the model its arguments were not JSON
    return value if isinstance(value, dict) else {}


def _blocks(message: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """One OpenAI message as (Messages API role, content blocks); no blocks for an empty one."""
    role = message.get("role")
    if role == "tool":
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": str(message.get("tool_call_id") or ""),
        }
        output = _text_of(message.get("content"))
        if output:
            result["content"] = output
        return "user", [result]
    text = _text_of(message.get("content"))
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if role == "assistant":
        for call in message.get("tool_calls") or ():
            if not isinstance(call, Mapping):
                continue
            function = call.get("function")
            function = function if isinstance(function, Mapping) else {}
            blocks.append(
                {
                    "type": "tool_use",
                    "id": str(call.get("id") or ""),
                    "name": str(function.get("name") or ""),
                    "input": _tool_input(function.get("arguments")),
                }
            )
        return "assistant", blocks
    return "user", blocks


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") if tool.get("type") == "function" else tool
    function = function if isinstance(function, Mapping) else {}
    converted: dict[str, Any] = {
        "name": str(function.get("name") or ""),
        "input_schema": dict(function.get("parameters") or _NO_PARAMETERS),
    }
    if function.get("description"):
        converted["description"] = str(function["description"])
    return converted


def to_messages_request(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    *,
    model: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> dict[str, Any]:
    """The Messages API request body for chat-completions `messages` and `tools`.

    System messages become the top-level `system`; messages of the same role in a row (tool
    results, a note after them) are merged, as the API wants user and assistant to alternate;
    empty messages are left out (the API refuses empty content)."""
    system = [_text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") == "system":
            continue
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if converted and converted[-1]["role"] == role:
            converted[-1]["content"].extend(blocks)
        else:
            converted.append({"role": role, "content": blocks})
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": converted}
    if any(system):
        body["system"] = "\n\n".join(s for s in system if s)
    if tools:
        body["tools"] = [_tool(t) for t in tools]
    return body


def parse_message(body: object) -> ChatResponse:
    """A Messages API answer (`{"type": "message", "content": [...]}`) as a `ChatResponse`."""
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise ValueError(f"not a Messages API answer: {json.dumps(body)[:200]}")
    texts: list[str] = []
    calls: list[ToolCallRequest] = []
    for position, block in enumerate(body["content"]):
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            raw = block.get("input")
            calls.append(
                ToolCallRequest(
                    id=str(block.get("id") or f"toolu_{position}"),
                    name=str(block.get("name") or ""),
                    arguments=json.dumps(raw if isinstance(raw, Mapping) else {}),
                )
            )
    usage = body.get("usage")
    tokens = None
    if isinstance(usage, Mapping):
        tokens = TokenUsage(
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
        )
    stop = body.get("stop_reason")
    model = body.get("model")
    return ChatResponse(
        content="".join(texts),
        tool_calls=tuple(calls),
        usage=tokens,
        finish_reason=stop if isinstance(stop, str) and stop else None,
        model=model if isinstance(model, str) and model else None,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class AnthropicProvider(ChatProvider):
    """`settings.base_url` is the API's root (ANTHROPIC_BASE_URL, without `/v1`); `transport`
    replaces httpx's network transport (for tests)."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        retry: RetryPolicy = CHAT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not settings.api_key:
            raise EngineError("the Anthropic API needs a key: set ANTHROPIC_API_KEY")
        self.settings = settings
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.url = f"{self.base_url}/v1/messages"
        self._api_key = settings.api_key
        self.retry = retry
        self._sleep = sleep
        self._rng = rng
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            verify=settings.verify,
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicProvider({self.base_url!r}, model={self.settings.model!r})"

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        correlation_id: str,
        on_text: TextCallback | None = None,
        on_retry: RetryCallback | None = None,
    ) -> ChatResponse:
        extra = dict(self.settings.extra_params)
        max_tokens = extra.pop("max_tokens", DEFAULT_MAX_TOKENS)
        payload = to_messages_request(
            messages, tools, model=self.settings.model, max_tokens=int(max_tokens)
        )
        payload.update(extra)
        payload["stream"] = True
        headers = {
            **self.settings.headers,
            "x-api-key": self._api_key or "",
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(payload, headers, on_text)
            except _Retry as exc:
                if attempt >= self.retry.max_attempts:
                    raise EngineError(f"{exc.reason} (gave up after {attempt} attempts)") from None
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, self.retry.max_retry_after_s)
                else:
                    wait = self.retry.backoff(attempt, self._rng)
                if on_retry is not None:
                    on_retry(exc.reason, wait)
                await self._sleep(wait)

    async def _attempt(
        self,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        on_text: TextCallback | None,
    ) -> ChatResponse:
        """One request; once text has been shown, a failure is not retried (it would repeat)."""
        shown = False

        def show(text: str) -> None:
            nonlocal shown
            shown = True
            if on_text is not None:
                on_text(text)

        try:
            return await self._request(payload, headers, show)
        except _Retry as exc:
            if not shown:
                raise
            raise EngineError(f"{exc.reason}, after part of the answer had arrived") from None

    async def _request(
        self,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        show: TextCallback,
    ) -> ChatResponse:
        try:
            async with self._http.stream(
                "POST", self.url, json=payload, headers=headers
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._status_error(response)
                if "text/event-stream" in response.headers.get("content-type", ""):
                    return await self._read_stream(response, show)
                answer = self._parse_plain(await response.aread())
        except httpx.ConnectError as exc:
            raise EngineError(
                f"could not connect to {self.base_url}: {self._scrub(str(exc)) or 'refused'} — "
                "check ANTHROPIC_BASE_URL"
            ) from None
        except httpx.TimeoutException as exc:
            raise _Retry(f"{self.url} did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retry(f"connection to {self.url} broke: {self._scrub(str(exc))}") from exc
        if answer.content:
            show(answer.content)
        return answer

    async def _read_stream(self, response: httpx.Response, show: TextCallback) -> ChatResponse:
        stream = MessageStream()
        try:
            async for line in response.aiter_lines():
                text = stream.feed(line)
                if text:
                    show(text)
                if stream.stopped:
                    break
            return stream.result()
        except StreamErrorEvent as exc:
            raise self._event_error(exc) from None
        except MalformedStream as exc:
            raise EngineError(
                f"{self.url} sent an unusable stream: {self._scrub(str(exc))[:300]}"
            ) from None

    def _parse_plain(self, body: bytes) -> ChatResponse:
        """A Message answered without streaming (a proxy that ignores `"stream": true`)."""
        try:
            return parse_message(json.loads(body))
        except ValueError as exc:
            raise EngineError(
                f"{self.url} answered unusably: {self._scrub(str(exc))[:300]} — is "
                "ANTHROPIC_BASE_URL the Anthropic API's root (without /v1)?"
            ) from None

    def _status_error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        try:
            body: object = response.json()
        except ValueError:
            body = response.text
        detail = self._scrub(error_message(body))[:500] or response.reason_phrase
        error = body.get("error") if isinstance(body, Mapping) else None
        kind = error.get("type") if isinstance(error, Mapping) else None
        if kind:
            detail = f"{kind}: {detail}"
        what = f"{status} from {self.url}: {detail}"
        return self._classify(status, what, retry_after=parse_retry_after(response.headers))

    def _event_error(self, event: StreamErrorEvent) -> Exception:
        """An `error` event, handled as the HTTP status of its type would be."""
        what = f"{event.kind}: {self._scrub(event.message)[:500]} in the stream from {self.url}"
        status = _ERROR_STATUSES.get(event.kind)
        return EngineError(what) if status is None else self._classify(status, what)

    def _classify(self, status: int, what: str, retry_after: float | None = None) -> Exception:
        if status in RETRYABLE_STATUSES or status >= 500:
            return _Retry(what, retry_after=retry_after)
        if status in (401, 403):
            return EngineError(f"{what} — check ANTHROPIC_API_KEY")
        if status == 404:
            return EngineError(
                f"{what} — check the model (AUTOCODER_MODEL={self.settings.model}) and "
                "ANTHROPIC_BASE_URL"
            )
        return EngineError(what)

    def _scrub(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text

    async def aclose(self) -> None:
        await self._http.aclose()
