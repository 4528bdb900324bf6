"""The two permission callbacks the CLI asks about each tool call: the PreToolUse hook (run for
every call) and `can_use_tool` (asked because the hook answers "ask"); both ask one `ToolGate`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny, ToolPermissionContext
from claude_agent_sdk.types import (
    HookContext,
    HookInput,
    PermissionResult,
    PreToolUseHookSpecificOutput,
    SyncHookJSONOutput,
)

from runner.engines.claude.gate import GateDecision, ToolGate, summarize_tool_call

log = logging.getLogger(__name__)

_ASK_REASON = "autocoder's runner policy decides every tool call"


class PermissionCallbacks:
    """`can_use_tool` and the PreToolUse hook of one run, over its `ToolGate`."""

    def __init__(self, gate: ToolGate) -> None:
        self._gate = gate
        self._unnamed_calls = 0

    def _decide(
        self, tool_use_id: str | None, name: str, tool_input: Mapping[str, Any]
    ) -> GateDecision:
        if not tool_use_id:
            self._unnamed_calls += 1
            tool_use_id = f"unnamed-{self._unnamed_calls}"
        decision = self._gate.decide(tool_use_id, name, tool_input)
        if not decision.allowed:
            log.info(
                "refused %s (%s): %s", name, summarize_tool_call(name, tool_input), decision.reason
            )
        return decision

    async def can_use_tool(
        self, name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        decision = self._decide(context.tool_use_id, name, tool_input)
        if decision.allowed:
            return PermissionResultAllow(updated_input=decision.updated_input)
        return PermissionResultDeny(message=refusal(decision.reason))

    async def pre_tool_use(
        self, hook_input: HookInput, tool_use_id: str | None, context: HookContext
    ) -> SyncHookJSONOutput:
        data: Mapping[str, Any] = hook_input
        name = str(data.get("tool_name", ""))
        raw_input = data.get("tool_input")
        tool_input: Mapping[str, Any] = raw_input if isinstance(raw_input, dict) else {}
        decision = self._decide(tool_use_id or data.get("tool_use_id"), name, tool_input)
        output: PreToolUseHookSpecificOutput
        if decision.allowed:
            output = {
                "hookEventName": "PreToolUse",
                "permissionDecision": "ask",
                "permissionDecisionReason": _ASK_REASON,
            }
            if decision.updated_input is not None:
                output["updatedInput"] = decision.updated_input
        else:
            output = {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": refusal(decision.reason),
            }
        return {"hookSpecificOutput": output}


def refusal(reason: str) -> str:
    return f"Refused by autocoder's policy: {reason}"
