"""An async client for any OpenAI-compatible `/v1/chat/completions` endpoint (Ollama, vLLM,
OpenAI, LiteLLM...), over httpx.

It streams (SSE) and reassembles the answer, accepts a plain JSON answer from servers that do not
stream, retries 429, 5xx and connection failures with exponential backoff and jitter (honouring
`retry-after`), and turns everything else into an `EngineError` that says what to check. The API
key is sent as a bearer token and never logged or put in a message.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from runner.engines.base import EngineError, QuotaExhausted
from runner.engines.openai.wire import (
    ChatResponse,
    StreamAssembler,
    WireError,
    error_code,
    error_message,
    iter_sse_data,
    parse_completion,
)

log = logging.getLogger(__name__)

RetryCallback = Callable[[str, float], None]
"""Told `(reason, wait_s)` before each wait between attempts."""

TextCallback = Callable[[str], None]
"""Told each piece of the answer's text as it arrives (the whole text, once, when not streamed)."""

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # for 429, 5xx, timeouts and broken streams
    max_connect_attempts: int = 2  # a refused connection is rarely transient: fail fast
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 300.0  # the longest `retry-after` honoured as given
    jitter: float = 0.25  # each computed delay grows by up to this fraction, at random
    # A quota answer (429, 529, a usage limit) asking for a longer wait than this, or one that
    # outlasts the attempts, raises `QuotaExhausted`: the session pauses instead of failing.
    pause_after_s: float = 60.0
    quota_pause_s: float = 900.0  # the pause when the answer names no time

    def quota_wait(self, retry_after: float | None) -> float:
        return retry_after if retry_after is not None and retry_after > 0 else self.quota_pause_s

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return delay * (1 + self.jitter * rng())


class _Retryable(Exception):
    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        connect: bool = False,
        quota: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.connect = connect
        self.quota = quota  # a rate or usage limit (429, 529)


class OpenAICompatibleClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        http: httpx.AsyncClient | None = None,
        auth: httpx.Auth | None = None,
        verify: bool | str = True,
        correlation_id: str | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self._api_key = api_key or None
        self._headers = dict(headers or {})
        self._auth = auth
        self.correlation_id = correlation_id
        self.retry = retry or RetryPolicy()
        self.stream = stream
        self._sleep = sleep
        self._rng = rng
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), verify=verify
        )

    def __repr__(self) -> str:  # never show the key
        key = "***" if self._api_key else None
        return f"OpenAICompatibleClient({self.base_url!r}, api_key={key})"

    async def __aenter__(self) -> OpenAICompatibleClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str,
        tools: Sequence[Mapping[str, Any]] | None = None,
        correlation_id: str | None = None,
        on_retry: RetryCallback | None = None,
        extra_params: Mapping[str, Any] | None = None,
        on_text: TextCallback | None = None,
    ) -> ChatResponse:
        """One model turn. Raises `EngineError` when the endpoint cannot be used.

        `on_text` sees the answer's text as it streams in; a stream that breaks and is retried
        starts over, so it may see the beginning of the text twice.
        """
        payload: dict[str, Any] = {"model": model, "messages": list(messages)}
        if tools:
            payload["tools"] = list(tools)
        payload.update(extra_params or {})
        if self.stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        headers = self._request_headers(correlation_id or self.correlation_id)

        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = await self._attempt(payload, headers, model, on_text)
            except _Retryable as exc:
                limit = self.retry.max_connect_attempts if exc.connect else self.retry.max_attempts
                if exc.quota and (
                    attempt >= limit
                    or (exc.retry_after is not None and exc.retry_after > self.retry.pause_after_s)
                ):
                    raise QuotaExhausted(
                        f"{exc.reason} (model quota)", self.retry.quota_wait(exc.retry_after)
                    ) from None
                if attempt >= limit:
                    if exc.connect:
                        raise EngineError(exc.reason) from None
                    raise EngineError(f"{exc.reason} (gave up after {attempt} attempts)") from None
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, self.retry.max_retry_after_s)
                else:
                    wait = self.retry.backoff(attempt, self._rng)
                log.warning("model request failed (%s); retrying in %.1f s", exc.reason, wait)
                if on_retry is not None:
                    on_retry(exc.reason, wait)
                await self._sleep(wait)
                continue
            log.debug(
                "model turn: %d tool calls, %.1f s",
                len(response.tool_calls),
                time.monotonic() - started,
            )
            return response

    def _request_headers(self, correlation_id: str | None) -> dict[str, str]:
        headers = {**self._headers}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if correlation_id:
            headers["x-correlation-id"] = correlation_id
        return headers

    async def _attempt(
        self,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        model: str,
        on_text: TextCallback | None = None,
    ) -> ChatResponse:
        options: dict[str, Any] = {"auth": self._auth} if self._auth is not None else {}
        try:
            async with self._http.stream(
                "POST", self.url, json=payload, headers=headers, **options
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._status_error(response, model)
                if "text/event-stream" in response.headers.get("content-type", ""):
                    return await self._read_stream(response, on_text)
                body = await response.aread()
        except httpx.ConnectError as exc:
            raise _Retryable(self._connect_message(exc), connect=True) from exc
        except httpx.ConnectTimeout as exc:
            raise _Retryable(
                f"could not connect to {self.base_url}: timed out — is the server running? "
                "set AUTOCODER_BASE_URL",
                connect=True,
            ) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{self.url} did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection to {self.url} broke: {self._scrub(str(exc))}") from exc
        answer = self._parse_plain(body)
        if on_text is not None and answer.content:
            on_text(answer.content)
        return answer

    async def _read_stream(
        self, response: httpx.Response, on_text: TextCallback | None = None
    ) -> ChatResponse:
        assembler = StreamAssembler()
        done = False
        async for data in iter_sse_data(response.aiter_lines()):
            if data.strip() == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(data)
                assembler.add(chunk)
            except json.JSONDecodeError as exc:
                raise EngineError(
                    f"{self.url} streamed something that is not JSON: {self._scrub(data)[:200]}"
                ) from exc
            except WireError as exc:
                raise _Retryable(f"{self.url} reported an error mid-stream: {exc}") from exc
            if on_text is not None:
                text = _content_delta(chunk)
                if text:
                    on_text(text)
        if not done and not assembler.finished:
            raise _Retryable(f"the stream from {self.url} ended before the answer was complete")
        return assembler.result()

    def _parse_plain(self, body: bytes) -> ChatResponse:
        text = body.decode("utf-8", errors="replace")
        if text.lstrip().startswith("data:"):  # SSE without the content type
            assembler = StreamAssembler()
            for block in text.split("\n\n"):
                for line in block.splitlines():
                    if line.startswith("data:") and line[5:].strip() != "[DONE]":
                        try:
                            assembler.add(json.loads(line[5:]))
                        except (json.JSONDecodeError, WireError) as exc:
                            raise EngineError(f"{self.url} sent an unusable stream: {exc}") from exc
            return assembler.result()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineError(
                f"{self.url} answered with something that is not JSON: "
                f"{self._scrub(text)[:200]!r} — is AUTOCODER_BASE_URL an OpenAI-compatible "
                "endpoint (usually ending in /v1)?"
            ) from exc
        try:
            return parse_completion(data)
        except WireError as exc:
            raise EngineError(f"{self.url} answered unusably: {self._scrub(str(exc))}") from exc

    def _status_error(self, response: httpx.Response, model: str) -> Exception:
        status = response.status_code
        try:
            body: object = response.json()
        except ValueError:
            body = response.text
        detail = self._scrub(error_message(body))[:500] or response.reason_phrase
        if status == 429 and error_code(body) == "insufficient_quota":  # a usage limit
            return QuotaExhausted(
                f"{status} from {self.url}: usage limit: {detail}",
                self.retry.quota_wait(parse_retry_after(response.headers)),
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            what = "rate limited" if status == 429 else "failed"
            return _Retryable(
                f"{status} from {self.url}: {what}: {detail}",
                retry_after=parse_retry_after(response.headers),
                quota=status in (429, 529),
            )
        if status in (401, 403):
            return EngineError(f"{status} from {self.url}: {detail} — check AUTOCODER_API_KEY")
        if status == 404:
            code = error_code(body)
            if "model" in code or "model" in detail.lower():
                return EngineError(
                    f"model {model!r} not found at {self.base_url}: {detail} — set "
                    "AUTOCODER_MODEL to a model the server offers"
                )
            return EngineError(
                f"404 from {self.url}: {detail} — is AUTOCODER_BASE_URL right? "
                "it usually ends in /v1"
            )
        return EngineError(f"{status} from {self.url}: {detail}")

    def _connect_message(self, exc: httpx.ConnectError) -> str:
        text = _describe_cause(exc)
        lowered = text.lower()
        if "refused" in lowered:
            why = "connection refused"
        elif "name or service" in lowered or "nodename" in lowered or "resolve" in lowered:
            why = "host name not found"
        elif "certificate" in lowered or "ssl" in lowered:
            why = f"TLS failed ({text}); set a CA bundle if the server uses a private CA"
        else:
            why = text or type(exc).__name__
        return (
            f"could not connect to {self.base_url}: {self._scrub(why)} — is the server running? "
            "set AUTOCODER_BASE_URL"
        )

    def _scrub(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text


def _content_delta(chunk: object) -> str:
    """The text a streamed chunk adds to the answer ("" when it adds none)."""
    if not isinstance(chunk, Mapping):
        return ""
    for choice in chunk.get("choices") or ():
        if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
            delta = choice.get("delta") or choice.get("message") or {}
            text = delta.get("content") if isinstance(delta, Mapping) else None
            return text if isinstance(text, str) else ""
    return ""


def _describe_cause(exc: BaseException) -> str:
    """The most telling message in an exception's chain (httpx wraps the OSError that says it)."""
    messages = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ECONNREFUSED:
            return "connection refused"
        messages.append(str(current))
        current = current.__cause__ or current.__context__
    return " / ".join(m for m in messages if m) or type(exc).__name__


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
