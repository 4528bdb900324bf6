"""The model behind the assistant, as a `ChatProvider`: messages and tools in, one answer out.

`OpenAICompatibleProvider` (engine `openai`) serves any `/v1/chat/completions` endpoint through
the runner's `OpenAICompatibleClient`. Other APIs plug in as a `ChatProvider` subclass, installed
under the `autocoder.providers` entry point group and chosen with `--engine NAME`.
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from runner.chat.errors import ChatError
from runner.chat.plugins import PROVIDERS_GROUP, entry_points_of, load_entry_point
from runner.engines.openai.client import (
    OpenAICompatibleClient,
    RetryCallback,
    RetryPolicy,
    TextCallback,
)
from runner.engines.openai.wire import ChatResponse

__all__ = [
    "ChatProvider",
    "ChatResponse",
    "OpenAICompatibleProvider",
    "ProviderSettings",
    "make_provider",
]

# A local assistant should say at once that nothing answers, not retry a refused connection.
CHAT_RETRY = RetryPolicy(max_attempts=3, max_connect_attempts=1, max_delay_s=10.0)


@dataclass(frozen=True)
class ProviderSettings:
    """Where the model is and how to reach it, resolved from config, auth and TLS settings."""

    base_url: str
    model: str
    timeout: float = 120.0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_key: str | None = field(default=None, repr=False)
    auth: httpx.Auth | None = None
    verify: ssl.SSLContext | bool = True
    extra_params: Mapping[str, Any] = field(default_factory=dict)


class ChatProvider(ABC):
    """A chat model. Messages and tools are in the OpenAI chat-completions shape."""

    @abstractmethod
    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        correlation_id: str,
        on_text: TextCallback | None = None,
        on_retry: RetryCallback | None = None,
    ) -> ChatResponse:
        """One answer. Raise `runner.engines.base.EngineError` with a helpful message on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections."""


ProviderFactory = Callable[[ProviderSettings], ChatProvider]


class OpenAICompatibleProvider(ChatProvider):
    def __init__(self, settings: ProviderSettings, *, retry: RetryPolicy = CHAT_RETRY) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            verify=settings.verify,
        )
        self._client = OpenAICompatibleClient(
            settings.base_url,
            settings.api_key,
            headers=settings.headers,
            timeout=settings.timeout,
            http=self._http,
            auth=settings.auth,
            retry=retry,
        )

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        correlation_id: str,
        on_text: TextCallback | None = None,
        on_retry: RetryCallback | None = None,
    ) -> ChatResponse:
        return await self._client.complete(
            messages,
            model=self.settings.model,
            tools=tools,
            correlation_id=correlation_id,
            on_retry=on_retry,
            extra_params=self.settings.extra_params,
            on_text=on_text,
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def make_provider(engine: str, settings: ProviderSettings) -> ChatProvider:
    """`openai`, or a provider installed under the `autocoder.providers` entry point group."""
    if engine == "openai":
        return OpenAICompatibleProvider(settings)
    factory = load_entry_point(PROVIDERS_GROUP, engine, what="provider")
    if factory is None:
        names = ", ".join(
            ["openai", "claude", *(ep.name for ep in entry_points_of(PROVIDERS_GROUP))]
        )
        raise ChatError(f"no engine named {engine!r}; the engines are: {names}")
    if not callable(factory):
        raise ChatError(f"provider {engine!r} is {factory!r}, not a ChatProvider factory")
    provider = factory(settings)
    if not isinstance(provider, ChatProvider):
        raise ChatError(
            f"provider {engine!r} made {type(provider).__name__}, not a ChatProvider "
            "(runner.chat.provider)"
        )
    return provider
