"""The assistant's turn: the person's prompt → model → tools → model ... → the answer.

Works on a `Conversation` that outlives the turn, so the next prompt continues it. The history
only ever holds whole steps (an answer together with all its tool results): a turn that is
cancelled or fails keeps the steps it finished, and when it finished none the prompt is taken
back, so the next request is well formed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from runner.chat.approvals import CommandApprovals
from runner.chat.conversation import Conversation
from runner.chat.events import ChatSink, Notice, TextDelta, ToolFinished, ToolStarted
from runner.chat.provider import ChatProvider
from runner.engines.openai.wire import ToolCallRequest
from runner.policy import judge_command
from runner.tools import Toolbox, ToolRegistry, ToolResult
from runner.tools.text import shorten_middle

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS = 50
MAX_TOOL_OUTPUT_CHARS = 30_000
MAX_ARGUMENT_CHARS = 60

SYSTEM_PROMPT = """\
You are autocoder, a coding assistant working in the directory {worktree} with the person at \
the terminal. Use the tools to look at files before you change them: read_file shows numbered \
lines (the numbers are not part of the file), edit_file replaces one exact piece of text, \
write_file creates or overwrites a file, list_directory lists a directory, run_command runs a \
shell command in that directory (commands outside an allowlist need the person's approval). \
Paths are relative to the directory. Keep answers short and say what you changed."""


class Responder(Protocol):
    """Answers one prompt of the conversation, reporting as it goes."""

    conversation: Conversation

    async def respond(self, prompt: str, emit: ChatSink) -> None: ...


class Assistant:
    """The chat loop on a `ChatProvider` with the runner's tools."""

    def __init__(
        self,
        provider: ChatProvider,
        registry: ToolRegistry,
        toolbox: Toolbox,
        conversation: Conversation,
        *,
        approvals: CommandApprovals,
        max_steps: int = DEFAULT_MAX_STEPS,
    ) -> None:
        self.provider = provider
        self.registry = registry
        self.toolbox = toolbox
        self.conversation = conversation
        self.approvals = approvals
        self.max_steps = max_steps

    async def respond(self, prompt: str, emit: ChatSink) -> None:
        conversation = self.conversation
        start = conversation.mark()
        conversation.messages.append({"role": "user", "content": prompt})
        try:
            await self._steps(emit)
        except BaseException:
            if conversation.mark() == start + 1:  # no step finished: take the prompt back
                conversation.rollback(start)
            raise

    async def _steps(self, emit: ChatSink) -> None:
        tools = self.registry.openai_schema()

        def on_text(text: str) -> None:
            emit(TextDelta(text))

        def on_retry(reason: str, wait_s: float) -> None:
            emit(Notice(f"{reason}; retrying in {wait_s:.0f} s"))

        for _ in range(self.max_steps):
            response = await self.provider.complete(
                self.conversation.messages,
                tools=tools,
                correlation_id=self.conversation.correlation_id,
                on_text=on_text,
                on_retry=on_retry,
            )
            step: list[dict[str, Any]] = [response.assistant_message()]
            for call in response.tool_calls:
                result = await self._run_tool(call, emit)
                step.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": shorten_middle(result.output, MAX_TOOL_OUTPUT_CHARS),
                    }
                )
            self.conversation.messages.extend(step)
            if not response.tool_calls:
                return
        emit(Notice(f"stopped after {self.max_steps} model turns; say 'go on' to continue"))

    async def _run_tool(self, call: ToolCallRequest, emit: ChatSink) -> ToolResult:
        emit(ToolStarted(call.name, format_arguments(call.arguments)))
        self._ask_for_command(call)
        # Tools block (files, subprocesses): the event loop stays free for Ctrl-C.
        result = await asyncio.to_thread(self.registry.call, call.name, call.arguments)
        emit(ToolFinished(call.name, result.ok, result.summary, result.diff or None))
        return result

    def _ask_for_command(self, call: ToolCallRequest) -> None:
        """A `run_command` the allowlist refuses is put to the person now, on this thread."""
        if call.name != "run_command" or self.approvals.allow_all:
            return
        parsed = self.registry.parse_arguments(call.name, call.arguments)
        if not isinstance(parsed, dict) or not isinstance(parsed.get("command"), str):
            return
        command: str = parsed["command"]
        verdict = judge_command(command, self.toolbox.policy)
        if not verdict.allowed:
            self.approvals.ask(command, verdict.reason or "not on the allowlist")


def format_arguments(arguments_json: str, limit: int = MAX_ARGUMENT_CHARS) -> str:
    """Tool arguments on one line, each value shortened: `path="a.py", content="x…"`."""
    try:
        arguments = json.loads(arguments_json or "{}")
    except json.JSONDecodeError:
        return _one_line(arguments_json, limit)
    if not isinstance(arguments, Mapping):
        return _one_line(json.dumps(arguments), limit)
    parts = []
    for key, value in arguments.items():
        text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={_one_line(text, limit)}")
    return ", ".join(parts)


def _one_line(text: str, limit: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
