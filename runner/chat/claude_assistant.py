"""`--engine claude`: each prompt is one run of the runner's Claude engine in the working dir.

The Claude Code CLI keeps no state between runs here, so the conversation so far goes into the
prompt as a transcript. Tool calls are judged by the engine's own policy gate (commands outside
the allowlist are refused, not asked about); file changes show as tool calls, without a diff.
"""

from __future__ import annotations

from pathlib import Path

from runner.chat.assistant import SYSTEM_PROMPT
from runner.chat.conversation import Conversation
from runner.chat.events import ChatSink, Notice, TextDelta, ToolFinished, ToolStarted
from runner.engines.base import (
    AssistantText,
    Engine,
    EngineEvent,
    EngineRequest,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.limits import LimitGuard
from runner.task import Limits

CHAT_LIMITS = Limits(max_turns=50, timeout_s=60 * 60, max_cost_usd=5.0)


class EngineAssistant:
    """A `Responder` over any `runner.engines.base.Engine` (the Claude engine, in practice)."""

    def __init__(
        self,
        engine: Engine,
        conversation: Conversation,
        worktree: Path,
        *,
        model: str | None = None,
        limits: Limits = CHAT_LIMITS,
    ) -> None:
        self.engine = engine
        self.conversation = conversation
        self.worktree = worktree
        self.model = model
        self.limits = limits

    async def respond(self, prompt: str, emit: ChatSink) -> None:
        history = self.conversation.transcript()
        full_prompt = (
            f"The conversation so far:\n\n{history}\n\nThe person now says:\n\n{prompt}"
            if history
            else prompt
        )
        request = EngineRequest(
            session_id=self.conversation.correlation_id,
            system_prompt=SYSTEM_PROMPT.format(worktree=self.worktree),
            prompt=full_prompt,
            worktree=self.worktree,
            guard=LimitGuard(self.limits),
            model=self.model,
        )

        def sink(event: EngineEvent) -> None:
            if isinstance(event, AssistantText):
                emit(TextDelta(event.text.rstrip() + "\n"))
            elif isinstance(event, ToolUse):
                emit(ToolStarted(event.name, event.summary))
            elif isinstance(event, ToolOutcome):
                emit(ToolFinished(event.name, event.ok, event.summary))
            elif isinstance(event, Retrying):
                emit(Notice(f"{event.reason}; retrying in {event.wait_s:.0f} s"))

        outcome = await self.engine.run(request, sink)
        self.conversation.messages.append({"role": "user", "content": prompt})
        self.conversation.messages.append({"role": "assistant", "content": outcome.final_text})
