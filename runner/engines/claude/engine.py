"""The Claude engine: one coding session through claude-agent-sdk and its Claude Code CLI.

How the runner stays in charge of a CLI that has its own agent loop:

- Tools: only Read, Write, Edit, Glob, Grep and Bash are given to the CLI (`--tools`), with no
  settings files (`setting_sources=[]`: a repository's `.claude/settings.json` could add hooks or
  allow-rules), no MCP servers but ours (`strict_mcp_config`; only when the request carries the
  runner's own tools, e.g. the feature tools: `extra_tools`), and prompts delivered
  verbatim (an `@/path` in issue text is not expanded into a file's content).
- Policy: in the default permission mode the CLI does NOT consult `can_use_tool` for calls it
  deems harmless (tried on CLI 2.1.330: `Read` inside the working directory and Bash `ls` ran
  without asking; `Read /etc/hostname` asked). A PreToolUse hook, which the CLI runs for every
  tool call, therefore judges each call first: a refusal is denied right there (the model
  reads "PreToolUse:<tool> hook error: <reason>"), and an allowed call is answered "ask", which
  makes the CLI consult `can_use_tool` for every call, auto-allowed or not. `can_use_tool` gives
  the same decision (both ask one `ToolGate`, which judges each tool-use id once) and returns
  the rewritten input. The hook passes the rewritten Bash input along with its "ask" as well, so
  even a CLI that skipped the callback would run the sandboxed command line.
- Secrets: every allowed Bash command is rewritten into `sandboxed_bash`, which runs it in the
  runner's sandbox with a cleared environment; the CLI itself is started with an allowlisted
  environment (see `launch`).
- Limits: the `LimitGuard` counts one turn per model message id (Claude Code streams each
  content block of an answer as its own message) and takes the cost from the final result. The
  CLI's own `--max-turns` is set one above what the guard has left (a second line of defence)
  and `--max-budget-usd` to the spend the guard has left (the CLI knows a turn's cost before we
  do); the CLI stopping on either is reported as the guard's `LimitReached`. When the guard
  trips, the CLI is interrupted and shut down, and `LimitReached` propagates. The budget given
  to the CLI is what the tightest spend cap leaves (`LimitGuard.cost_left`: the session's, the
  issue's, the repository's day, the installation's month).
- Stalls and loops: every SDK message `touch`es the guard (the orchestrator ends a session that
  gets none for `stall_s`); each tool result goes to `note_tool_call` with its tool_use input,
  and the same call with the same result `loop_repeats` times in a row ends the session.
- Continuity (issue #14, `continuity`): the CLI's session id (from its init message) and its
  JSONL transcript go into the `Transcript` checkpoints record; an earlier attempt's transcript
  is written back into the fresh CLI home and the run starts with `resume=<id>` and the resume
  note instead of the task. Maintainers' messages (`request.steering`) are sent with
  `client.query()` as they arrive; the CLI adds them before its next model request. A rate
  limit or overload past the CLI's retries raises `QuotaExhausted` (the session pauses).
- Shutdown: whether the run ends, fails or is cancelled (the orchestrator's wall-time limit),
  the SDK disconnects the CLI (stdin closed, then SIGTERM, then SIGKILL) in a task the
  cancellation cannot interrupt, and the CLI's process group is killed if it is still there.

System prompt: Claude Code's own preset, with the runner's prompt appended (not replaced). The
preset is what the model was tuned with for exactly these tools (read before edit, how Edit
matches, how to use Grep and Glob rather than shell find/grep); the runner's prompt adds the
task's rules. The appended prompt comes last, so where the two differ the runner's rules are the
most recent instruction the model reads.

This module builds a run (credentials, CLI, sandbox, gate); the run itself is in
`conversation`, its options in `options`, the permission callbacks in `permissions`, and the
message stream in `stream`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.engines.base import EngineError, EngineOutcome, EngineRequest, EventSink
from runner.engines.claude.conversation import ClaudeSession
from runner.engines.claude.extra_tools import mcp_tool_name
from runner.engines.claude.gate import BashRewriter, ToolGate
from runner.engines.claude.launch import (
    DEFAULT_MAX_RETRIES,
    ClaudeCredentials,
    PrivateDirs,
    build_cli_env,
    bundled_cli_path,
)
from runner.policy import CommandPolicy
from runner.sandbox import Sandbox, SandboxStatus

if TYPE_CHECKING:
    from runner.settings import RunnerSettings


class ClaudeEngine:
    """`runner.engines.base.Engine` on claude-agent-sdk and the Claude Code CLI it bundles."""

    name = "claude"

    def __init__(
        self,
        *,
        credentials: ClaudeCredentials | None = None,
        default_model: str | None = None,
        cli_path: Path | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        command_timeout_s: float = 120.0,
        network: bool = False,
        extra_commands: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        quota_pause_s: float = 900.0,
    ) -> None:
        """`credentials` fields left unset are read from the environment when a run starts.

        `environ` (default: `os.environ` at run time) is where those, PATH and proxy settings
        are read; nothing else of it reaches the CLI.
        """
        self._credentials = credentials or ClaudeCredentials()
        self._default_model = default_model
        self._cli_path = cli_path
        self._max_retries = max_retries
        self._command_timeout_s = command_timeout_s
        self._network = network
        self._extra_commands = tuple(extra_commands)
        self._environ = environ
        self._quota_pause_s = quota_pause_s

    @classmethod
    def from_settings(cls, settings: RunnerSettings, **kwargs: Any) -> ClaudeEngine:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        credentials = ClaudeCredentials(
            api_key=secret(settings.anthropic_api_key),
            oauth_token=secret(settings.claude_code_oauth_token),
            base_url=settings.anthropic_base_url,
        )
        kwargs.setdefault("quota_pause_s", settings.quota_pause_seconds)
        return cls(credentials=credentials, default_model=settings.model, **kwargs)

    async def run(self, request: EngineRequest, emit: EventSink) -> EngineOutcome:
        environ: Mapping[str, str] = os.environ if self._environ is None else self._environ
        credentials = self._credentials.resolved(environ)
        if not credentials.present:
            raise EngineError(
                "no credentials for the Claude engine: set ANTHROPIC_API_KEY "
                "(or CLAUDE_CODE_OAUTH_TOKEN / ANTHROPIC_AUTH_TOKEN)"
            )
        cli = self._cli_path or bundled_cli_path()
        if cli is None or not cli.is_file():
            raise EngineError(
                "the Claude Code CLI was not found: reinstall claude-agent-sdk (it bundles the "
                "CLI) or put `claude` on PATH"
            )
        request.guard.check()  # a cap earlier sessions used up: no model call at all
        with tempfile.TemporaryDirectory(
            prefix="autocoder-claude-", ignore_cleanup_errors=True
        ) as root:
            dirs = PrivateDirs(Path(root))
            dirs.create()
            env = build_cli_env(credentials, dirs, environ=environ, max_retries=self._max_retries)
            sandbox = Sandbox(
                request.worktree, network=self._network or request.network, mode=request.sandbox
            ).status
            session = ClaudeSession(
                request,
                emit,
                dirs=dirs,
                env=env,
                cli=cli,
                base_url=credentials.base_url,
                model=request.model or self._default_model,
                gate=self._gate(request, dirs, sandbox),
                network=self._network or request.network,
                commands_allowed=sandbox.commands_allowed,
                quota_pause_s=self._quota_pause_s,
            )
            return await session.run()

    def _gate(self, request: EngineRequest, dirs: PrivateDirs, sandbox: SandboxStatus) -> ToolGate:
        worktree = request.worktree.resolve()
        guard = request.guard

        def timeout_s() -> float:
            return min(self._command_timeout_s, max(1.0, guard.remaining_s()))

        bash = BashRewriter(
            python=sys.executable,
            worktree=worktree,
            reports_dir=dirs.reports,
            timeout_s=timeout_s,
            network=self._network or request.network,
            sandbox=sandbox.mode.value,
            hide=(dirs.root,),
        )
        policy = CommandPolicy.default(
            worktree, extra_commands=(*self._extra_commands, *request.allowed_commands)
        )
        refused = None if sandbox.commands_allowed else sandbox.refusal()
        extra = frozenset(mcp_tool_name(spec.name) for spec in request.extra_tools)
        return ToolGate(
            worktree=worktree,
            policy=policy,
            bash=bash,
            commands_refused=refused,
            extra_tools=extra,
        )
