"""What a session process writes: `runner.events` lines on its event pipe — the engine's text,
tool calls and commands, its check runs, and the `Result` that ends the stream."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import IO

from runner.engines.base import (
    AssistantText,
    CommandRan,
    Engine,
    EngineEvent,
    EngineOutcome,
    EngineRequest,
    ToolUse,
)
from runner.events import CheckRun, Command, Result, SessionEvent, Text, ToolCall, event_line
from runner.github.types import CheckRunInfo
from runner.task import SessionResult


class EventOut:
    """Writes events on stdout, one JSON line each, from any thread. A worker that is gone
    (a broken pipe) stops nothing but the writing: the session still ends cleanly."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.gone = False

    def __call__(self, event: SessionEvent) -> None:
        with self._lock:
            if self.gone:
                return
            try:
                self._stream.write(event_line(event))
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self.gone = True


class CheckRunEvents:
    """The reporter's check-run observer, as events."""

    def __init__(self, emit: Callable[[SessionEvent], None]) -> None:
        self._emit = emit

    def opened(self, run: CheckRunInfo) -> None:
        self._emit(CheckRun(id=run.id, state="in_progress", head_sha=run.head_sha))

    def concluded(self, check_run_id: int) -> None:
        self._emit(CheckRun(id=check_run_id, state="completed"))


class TeeEngine:
    """An engine whose events also go out as session events (text, tool calls, commands)."""

    def __init__(self, inner: Engine, emit: Callable[[SessionEvent], None]) -> None:
        self.name = inner.name
        self._inner = inner
        self._emit = emit

    async def run(
        self, request: EngineRequest, emit: Callable[[EngineEvent], None]
    ) -> EngineOutcome:
        def both(event: EngineEvent) -> None:
            out = as_session_event(event)
            if out is not None:
                self._emit(out)
            emit(event)

        return await self._inner.run(request, both)


def as_session_event(event: EngineEvent) -> SessionEvent | None:
    match event:
        case AssistantText(text=text):
            return Text(text=text)
        case ToolUse(name=name, summary=summary):
            return ToolCall(name=name, summary=summary)
        case CommandRan(record=record):
            return Command(
                command=record.command,
                exit_code=record.exit_code,
                refused_reason=record.refused_reason,
                timed_out=record.timed_out,
            )
    return None


def result_event(result: SessionResult, *, stopped: bool) -> Result:
    return Result(
        conclusion=result.conclusion.value,
        summary=result.summary,
        error=result.error,
        branch=result.branch,
        pull_number=result.pull_number,
        pull_request_url=result.pull_request_url,
        check_run_url=result.check_run_url,
        turns=result.usage.turns,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost_usd=result.usage.cost_usd,
        github_requests=result.github_requests,
        stopped=stopped,
        features_passing=list(result.features_passing),
        sequence=result.sequence,
        paused_until=result.paused_until,
    )
