"""The `ClaudeAgentOptions` a run of the Claude Code CLI starts with, and the engine notes
appended to the system prompt (the policy behind each option is in `engine`'s docstring)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claude_agent_sdk import ClaudeAgentOptions, HookMatcher
from claude_agent_sdk.types import CanUseTool, HookCallback

from runner.engines.base import EngineRequest
from runner.engines.claude.extra_tools import SERVER_NAME, sdk_server
from runner.engines.claude.gate import COMMAND_TOOL, offered_tools
from runner.engines.claude.launch import PrivateDirs, write_launcher

ENGINE_NOTES = """\
## How your tools run in this session
- Each Bash command runs on its own in a sandbox that starts at the repository root, with a \
clean environment that holds no credentials{network}. A `cd` does not carry over to the next \
command: chain it (`cd sub && make`).
- Every tool call is checked by a policy first. A refused call comes back with the reason; \
change your approach rather than repeating it.
"""

ENGINE_NOTES_NO_COMMANDS = """\
## How your tools run in this session
- There is no Bash tool in this session: this machine has no working sandbox for commands. \
Work with Read, Write, Edit, Glob and Grep only, and say in your final answer what you could \
not verify by running it.
- Every tool call is checked by a policy first. A refused call comes back with the reason; \
change your approach rather than repeating it.
"""


def build_options(
    request: EngineRequest,
    *,
    dirs: PrivateDirs,
    env: dict[str, str],
    cli: Path,
    model: str | None,
    network: bool,
    commands_allowed: bool,
    stderr: Callable[[str], None],
    can_use_tool: CanUseTool,
    pre_tool_use: HookCallback,
    resume: str | None,
) -> ClaudeAgentOptions:
    """Options for one run, with the turns and budget the request's guard has left."""
    guard = request.guard
    limits = guard.limits
    turns_left = max(1, limits.max_turns - guard.turns)
    budget_left = max(0.01, guard.cost_left())
    notes = (
        ENGINE_NOTES.format(network="" if network else " and no network")
        if commands_allowed
        else ENGINE_NOTES_NO_COMMANDS
    )
    return ClaudeAgentOptions(
        # Without a working sandbox, Bash is neither offered nor allowed (the gate refuses
        # it too, should the CLI offer it anyway).
        tools=offered_tools(commands_allowed=commands_allowed),
        # Empty, also for the runner's own MCP tools: an allowed_tools entry would approve
        # them before `can_use_tool` is asked; the gate allows them itself.
        allowed_tools=[],
        disallowed_tools=[] if commands_allowed else [COMMAND_TOOL],
        system_prompt={
            "type": "preset",
            "preset": "claude_code",
            "append": f"{request.system_prompt.rstrip()}\n\n{notes}",
        },
        # The runner's own tools (if any) through one in-process MCP server; no other MCP.
        mcp_servers=({SERVER_NAME: sdk_server(request.extra_tools)} if request.extra_tools else {}),
        strict_mcp_config=True,
        setting_sources=[],
        verbatim_prompts=True,
        # One above what the guard allows: the guard, counting the same turns, trips first.
        max_turns=turns_left + 1,
        # The CLI learns a turn's cost before the runner does (the guard gets the total with
        # the result), so the budget is the CLI's to enforce mid-run; its stop is mapped to
        # the guard's LimitReached("cost").
        max_budget_usd=round(budget_left, 4),
        model=model,
        cwd=str(request.worktree.resolve()),
        cli_path=str(write_launcher(dirs, cli, env)),
        env=dict(env),
        stderr=stderr,
        can_use_tool=can_use_tool,
        resume=resume,
        hooks={"PreToolUse": [HookMatcher(matcher=None, hooks=[pre_tool_use], on_failure="block")]},
    )
