"""Reading the CLI's message stream: turns and cost into the `LimitGuard`, events to the sink,
commands into `CommandRecord`s, and the final result mapped to an outcome or a typed error."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from runner.engines.base import (
    AssistantText,
    CommandRan,
    EngineError,
    EngineRequest,
    EventSink,
    QuotaExhausted,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.engines.claude.continuity import is_quota_failure
from runner.engines.claude.errors import describe_model_failure, describe_retry
from runner.engines.claude.extra_tools import mcp_tool_name
from runner.engines.claude.gate import (
    TOOLS,
    GateDecision,
    ToolGate,
    one_line,
    summarize_tool_call,
)
from runner.engines.claude.sandboxed_bash import TIMEOUT_EXIT_CODE, CommandReport
from runner.limits import LimitReached
from runner.task import CommandRecord

log = logging.getLogger(__name__)

_SYNTHETIC_MODEL = "<synthetic>"  # what Claude Code calls the messages it makes up itself


class MessageStream:
    """What one run's messages said so far: the last text, the commands, a model failure."""

    def __init__(
        self,
        request: EngineRequest,
        emit: EventSink,
        *,
        gate: ToolGate,
        base_url: str | None,
        model: str | None,
        quota_pause_s: float,
    ) -> None:
        self._request = request
        self._emit = emit
        self._gate = gate
        self._base_url = base_url
        self._model = model
        self._quota_pause_s = quota_pause_s
        self._guard = request.guard
        self._turn_ids: set[str] = set()
        self._tool_names: dict[str, str] = {}
        self._tool_calls: dict[str, tuple[str, str]] = {}  # id → (input as JSON, summary)
        self._recorded: set[str] = set()
        self.commands: list[CommandRecord] = []
        self.last_text = ""
        self.failure: tuple[str | None, str] | None = None
        self._retry_status: int | None = None  # the HTTP status the CLI last retried on

    def handle(self, message: object) -> ResultMessage | None:
        self._guard.touch()  # any message is progress (a stall is none for stall_s)
        if isinstance(message, AssistantMessage):
            if message.model != _SYNTHETIC_MODEL and message.error is None:
                self._retry_status = None  # the model answered: earlier retries are over
            self._on_assistant(message)
        elif isinstance(message, UserMessage):
            self._on_user(message)
        elif isinstance(message, SystemMessage):
            self._on_system(message)
        elif isinstance(message, ResultMessage):
            self._on_result(message)
            return message
        return None

    def _on_assistant(self, message: AssistantMessage) -> None:
        texts = [block.text for block in message.content if isinstance(block, TextBlock)]
        if message.model == _SYNTHETIC_MODEL or message.error is not None:
            # Claude Code's own account of a failed model call, not a model turn.
            self.failure = (message.error, " ".join(texts) or (message.error or ""))
            return
        turn_id = message.message_id or message.uuid or f"turn-{len(self._turn_ids)}"
        if turn_id not in self._turn_ids:
            self._turn_ids.add(turn_id)
            usage = message.usage or {}
            self._guard.record_turn(
                input_tokens=_input_tokens(usage), output_tokens=_int(usage.get("output_tokens"))
            )
        for block in message.content:
            if isinstance(block, TextBlock) and block.text.strip():
                self.last_text = block.text
                self._emit(AssistantText(block.text))
            elif isinstance(block, ToolUseBlock):
                self._tool_names[block.id] = block.name
                summary = summarize_tool_call(block.name, block.input)
                self._tool_calls[block.id] = (
                    json.dumps(block.input, sort_keys=True, default=str),
                    summary,
                )
                self._emit(ToolUse(block.name, summary))

    def _on_user(self, message: UserMessage) -> None:
        if isinstance(message.content, str):
            return
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                self._on_tool_result(block)

    def _on_tool_result(self, block: ToolResultBlock) -> None:
        name = self._tool_names.get(block.tool_use_id, "tool")
        decision = self._gate.decisions.get(block.tool_use_id)
        text = _result_text(block.content)
        if decision is not None and not decision.allowed:
            self._emit(ToolOutcome(name, False, one_line(decision.reason)))
        elif decision is not None and decision.report is not None:
            report = _read_report(decision.report)
            exit_code = report.exit_code if report is not None else None
            ok = exit_code == 0
            summary = f"exit {exit_code}" if exit_code is not None else "no exit status"
            if report is not None and report.timed_out:
                summary = "timed out"
            first = one_line(text)
            self._emit(ToolOutcome(name, ok, f"{summary}: {first}" if first else summary))
        else:
            self._emit(ToolOutcome(name, not block.is_error, one_line(text)))
        if decision is not None:
            self._record_command(decision)
        call, summary = self._tool_calls.get(block.tool_use_id, ("", ""))
        self._guard.note_tool_call(name, call, text, summary)
        self._guard.check()  # a loop (the same call, the same result) ends the session

    def _on_system(self, message: SystemMessage) -> None:
        if message.subtype == "api_retry":
            status = message.data.get("error_status")
            self._retry_status = status if isinstance(status, int) else None
            reason, wait_s = describe_retry(message.data)
            self._emit(Retrying(reason, wait_s))
        elif message.subtype == "init":
            session_id = message.data.get("session_id")
            if self._request.transcript is not None and isinstance(session_id, str):
                self._request.transcript.claude_session_id = session_id
            tools = message.data.get("tools")
            ours = {mcp_tool_name(spec.name) for spec in self._request.extra_tools}
            extra = sorted(set(tools) - set(TOOLS) - ours) if isinstance(tools, list) else []
            if extra:  # the gate refuses them anyway; say so, it means the CLI changed
                log.warning("Claude Code offers tools beyond the allowed set: %s", extra)

    def _on_result(self, result: ResultMessage) -> None:
        if result.total_cost_usd is not None:
            self._guard.set_cost(result.total_cost_usd)
        usage = result.usage or {}
        if usage:
            self._guard.set_tokens(
                input_tokens=_input_tokens(usage), output_tokens=_int(usage.get("output_tokens"))
            )
        if not result.is_error:
            return
        limits = self._guard.limits
        if result.subtype == "error_max_turns":
            raise LimitReached("turns", f"turn limit reached ({limits.max_turns} turns)")
        if result.subtype == "error_max_budget_usd":
            raise self._guard.cost_limit()
        kind, detail = self.failure or (None, result.result or "; ".join(result.errors or []))
        if is_quota_failure(
            error_kind=kind,
            detail=detail,
            status=result.api_error_status,
            retry_status=self._retry_status,
        ):
            raise QuotaExhausted(
                f"the Claude model endpoint kept refusing: {one_line(detail)} (model quota)",
                self._quota_pause_s,
            )
        raise EngineError(
            describe_model_failure(
                error_kind=kind,
                detail=detail or result.subtype,
                base_url=self._base_url,
                model=self._model,
                status=result.api_error_status,
            )
        )

    # ---- command records -----------------------------------------------------------------

    def _record_command(self, decision: GateDecision) -> None:
        command = decision.command
        if command is None or decision.tool_use_id in self._recorded:
            return
        self._recorded.add(decision.tool_use_id)
        if not decision.allowed:
            record = CommandRecord(command, None, refused_reason=decision.reason)
        else:
            report = _read_report(decision.report) if decision.report else None
            if report is None:
                record = CommandRecord(command, None)
            else:
                exit_code = report.exit_code
                if exit_code is None and report.timed_out:
                    exit_code = TIMEOUT_EXIT_CODE
                record = CommandRecord(command, exit_code, timed_out=report.timed_out)
        self.commands.append(record)
        self._emit(CommandRan(record))

    def record_unfinished_commands(self) -> None:
        """Commands decided but whose result never came back (the run stopped): record them."""
        for decision in self._gate.decisions.values():
            self._record_command(decision)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _input_tokens(usage: Mapping[str, Any]) -> int:
    return sum(
        _int(usage.get(key))
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _result_text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(item.get("text", "")) for item in content if item.get("type") == "text")


def _read_report(path: Path | None) -> CommandReport | None:
    if path is None:
        return None
    try:
        return CommandReport.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
