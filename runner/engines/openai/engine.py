"""The project's own agent loop on an OpenAI-compatible chat-completions endpoint.

system + user prompt → model turn with tools → run each tool call → send the results back → ...
until the model answers without tool calls. Limits are the guard's business: `record_turn` after
every model turn, `touch` on each answer, `note_tool_call` with each tool's result (loops), and
its `LimitReached` propagates to the orchestrator.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.conversation_state import RESUME_NOTE
from runner.engines.base import (
    AssistantText,
    CommandRan,
    EngineError,
    EngineOutcome,
    EngineRequest,
    EventSink,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.engines.openai.client import OpenAICompatibleClient
from runner.engines.openai.prices import ModelPrice, turn_cost
from runner.engines.openai.wire import ChatResponse, ToolCallRequest
from runner.limits import LimitGuard, LimitReached
from runner.task import CommandRecord
from runner.tools import Toolbox, ToolRegistry, ToolResult, default_tools
from runner.tools.text import shorten_middle

log = logging.getLogger(__name__)

ClientFactory = Callable[[], OpenAICompatibleClient]
ToolboxFactory = Callable[[Path], Toolbox]
ToolsFactory = Callable[[Toolbox], ToolRegistry]

DEFAULT_TOOL_OUTPUT_CHARS = 30_000


class OpenAIEngine:
    """`runner.engines.base.Engine` over any `/v1/chat/completions` endpoint.

    `client` is either a client (the caller closes it) or a factory called once per run (the
    engine closes what it made). The tools work on `request.worktree` through a `Toolbox` with
    the default command policy and sandbox, unless `toolbox_factory` says otherwise.
    """

    name = "openai"

    def __init__(
        self,
        client: OpenAICompatibleClient | ClientFactory,
        model: str | None = None,
        *,
        toolbox_factory: ToolboxFactory | None = None,
        tools_factory: ToolsFactory = default_tools,
        prices: Mapping[str, ModelPrice] | None = None,
        extra_params: Mapping[str, Any] | None = None,
        max_tool_output_chars: int = DEFAULT_TOOL_OUTPUT_CHARS,
    ) -> None:
        self._client = client
        self.model = model
        self._toolbox_factory = toolbox_factory
        self._tools_factory = tools_factory
        self.prices: Mapping[str, ModelPrice] = prices or {}
        self.extra_params = dict(extra_params or {})
        self.max_tool_output_chars = max_tool_output_chars

    async def run(self, request: EngineRequest, emit: EventSink) -> EngineOutcome:
        model = request.model or self.model
        if not model:
            raise EngineError("no model given: set AUTOCODER_MODEL (for example llama3.2)")
        if isinstance(self._client, OpenAICompatibleClient):
            return await self._loop(self._client, model, request, emit)
        client = self._client()
        try:
            return await self._loop(client, model, request, emit)
        finally:
            await client.aclose()

    def _toolbox_for(self, request: EngineRequest) -> Toolbox:
        if self._toolbox_factory is not None:
            return self._toolbox_factory(request.worktree)
        return Toolbox.for_worktree(
            request.worktree,
            extra_commands=request.allowed_commands,
            network=request.network,
            sandbox_mode=request.sandbox,
        )

    async def _loop(
        self,
        client: OpenAICompatibleClient,
        model: str,
        request: EngineRequest,
        emit: EventSink,
    ) -> EngineOutcome:
        registry = self._tools_factory(self._toolbox_for(request))
        for spec in request.extra_tools:
            registry.register(spec)
        tools = registry.openai_schema()
        messages = _opening_messages(request)
        if request.transcript is not None:
            request.transcript.messages = messages  # checkpoints snapshot it as it grows
        commands: list[CommandRecord] = []
        last_text = ""

        def on_retry(reason: str, wait_s: float) -> None:
            emit(Retrying(reason=reason, wait_s=wait_s))

        while True:
            request.guard.check()
            _take_steering(request, messages)
            response = await client.complete(
                messages,
                model=model,
                tools=tools,
                correlation_id=request.session_id,
                on_retry=on_retry,
                extra_params=self.extra_params,
            )
            request.guard.touch()
            if response.content.strip():
                last_text = response.content
                emit(AssistantText(response.content))
            messages.append(response.assistant_message())
            for call in response.tool_calls:
                result = await self._run_tool(registry, call, emit)
                request.guard.note_tool_call(
                    call.name, call.arguments, result.output, _summarize_call(registry, call)
                )
                if result.command is not None:
                    commands.append(result.command)
                    emit(CommandRan(result.command))
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": shorten_middle(result.output, self.max_tool_output_chars),
                    }
                )
            if not response.tool_calls:
                self._record_final_turn(request.guard, model, response)
                return EngineOutcome(final_text=last_text, commands=commands)
            self._record_turn(request.guard, model, response)

    async def _run_tool(
        self, registry: ToolRegistry, call: ToolCallRequest, emit: EventSink
    ) -> ToolResult:
        emit(ToolUse(name=call.name, summary=_summarize_call(registry, call)))
        # Tools block (files, subprocesses): keep the event loop free for timeouts and cancels.
        result = await asyncio.to_thread(registry.call, call.name, call.arguments)
        emit(ToolOutcome(name=call.name, ok=result.ok, summary=result.summary))
        return result

    def _record_turn(self, guard: LimitGuard, model: str, response: ChatResponse) -> None:
        usage = response.usage
        guard.record_turn(
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            cost_usd=turn_cost(self.prices, model, usage),
        )

    def _record_final_turn(self, guard: LimitGuard, model: str, response: ChatResponse) -> None:
        """The model has finished: using the last allowed turn for that is not hitting the cap."""
        try:
            self._record_turn(guard, model, response)
        except LimitReached as exc:
            if exc.kind != "turns":
                raise
            log.info("the model finished on its last allowed turn")


def _opening_messages(request: EngineRequest) -> list[dict[str, Any]]:
    """The system prompt, then the task, or the earlier attempt's conversation and a note that
    it resumes."""
    system = {"role": "system", "content": request.system_prompt}
    resume = request.resume
    if resume is not None and resume.engine == "openai" and resume.messages:
        earlier = [dict(m) for m in resume.messages if m.get("role") != "system"]
        return [system, *earlier, {"role": "user", "content": RESUME_NOTE}]
    return [system, {"role": "user", "content": request.prompt}]


def _take_steering(request: EngineRequest, messages: list[dict[str, Any]]) -> None:
    """Maintainers' messages that arrived since the last request, as user messages now."""
    if request.steering is None:
        return
    for message in request.steering.take():
        messages.append({"role": "user", "content": message.as_user_message()})
        request.steering.delivered(message)


def _summarize_call(registry: ToolRegistry, call: ToolCallRequest) -> str:
    tool = registry.get(call.name)
    if tool is None:
        return f"(unknown tool {call.name!r})"
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return "(arguments are not valid JSON)"
    if not isinstance(arguments, dict):
        return "(arguments are not a JSON object)"
    return tool.summarize(arguments)
