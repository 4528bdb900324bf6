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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ClaudeSDKError,
    CLINotFoundError,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ToolPermissionContext,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)
from claude_agent_sdk.types import (
    HookContext,
    HookInput,
    PermissionResult,
    PreToolUseHookSpecificOutput,
    SyncHookJSONOutput,
)

from runner.conversation_state import RESUME_NOTE
from runner.engines.base import (
    AssistantText,
    CommandRan,
    EngineError,
    EngineOutcome,
    EngineRequest,
    EventSink,
    QuotaExhausted,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.engines.claude.continuity import (
    is_quota_failure,
    read_transcript,
    restore_transcript,
)
from runner.engines.claude.errors import describe_model_failure, describe_retry
from runner.engines.claude.extra_tools import SERVER_NAME, mcp_tool_name, sdk_server
from runner.engines.claude.gate import (
    COMMAND_TOOL,
    TOOLS,
    BashRewriter,
    GateDecision,
    ToolGate,
    offered_tools,
    one_line,
    summarize_tool_call,
)
from runner.engines.claude.launch import (
    DEFAULT_MAX_RETRIES,
    ClaudeCredentials,
    PrivateDirs,
    build_cli_env,
    bundled_cli_path,
    write_launcher,
)
from runner.engines.claude.sandboxed_bash import TIMEOUT_EXIT_CODE, CommandReport
from runner.limits import LimitReached
from runner.policy import CommandPolicy
from runner.sandbox import Sandbox, SandboxStatus
from runner.task import CommandRecord

if TYPE_CHECKING:
    from runner.settings import RunnerSettings

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 20.0  # the SDK's close() escalates stdin EOF → SIGTERM → SIGKILL in ~15 s
INTERRUPT_TIMEOUT_S = 5.0
_SYNTHETIC_MODEL = "<synthetic>"  # what Claude Code calls the messages it makes up itself
_ASK_REASON = "autocoder's runner policy decides every tool call"

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
            session = _ClaudeSession(
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


class _ClaudeSession:
    """One run of the CLI: options, the two permission callbacks, and the message stream."""

    def __init__(
        self,
        request: EngineRequest,
        emit: EventSink,
        *,
        dirs: PrivateDirs,
        env: dict[str, str],
        cli: Path,
        base_url: str | None,
        model: str | None,
        gate: ToolGate,
        network: bool,
        commands_allowed: bool = True,
        quota_pause_s: float = 900.0,
    ) -> None:
        self._request = request
        self._emit = emit
        self._dirs = dirs
        self._env = env
        self._cli = cli
        self._base_url = base_url
        self._model = model
        self._gate = gate
        self._network = network
        self._commands_allowed = commands_allowed
        self._guard = request.guard
        self._turn_ids: set[str] = set()
        self._tool_names: dict[str, str] = {}
        self._tool_calls: dict[str, tuple[str, str]] = {}  # id → (input as JSON, summary)
        self._recorded: set[str] = set()
        self._commands: list[CommandRecord] = []
        self._last_text = ""
        self._failure: tuple[str | None, str] | None = None
        self._stderr: deque[str] = deque(maxlen=30)
        self._unnamed_calls = 0
        self._quota_pause_s = quota_pause_s
        self._retry_status: int | None = None  # the HTTP status the CLI last retried on
        self._last_transcript: str | None = None
        self._resume_id = self._restore()
        if request.transcript is not None:
            request.transcript.transcript_reader = self._read_transcript

    # ---- resume (issue #14) --------------------------------------------------------------

    def _restore(self) -> str | None:
        """Put the earlier attempt's transcript back; the session id to `--resume`, if any."""
        state = self._request.resume
        if state is None or state.engine != "claude" or not state.claude_session_id:
            return None
        if not state.transcript or not restore_transcript(
            self._dirs.config, self._request.worktree, state.claude_session_id, state.transcript
        ):
            log.warning("the earlier Claude session cannot be resumed: it starts over")
            return None
        if self._request.transcript is not None:
            self._request.transcript.claude_session_id = state.claude_session_id
        return state.claude_session_id

    def _read_transcript(self) -> str | None:
        """The transcript as the CLI has written it so far; once the run is over (its temporary
        HOME gone), the last one read, which `run` takes as the CLI stops."""
        transcript = self._request.transcript
        session_id = transcript.claude_session_id if transcript is not None else None
        text = read_transcript(self._dirs.config, session_id)
        if text is not None:
            self._last_transcript = text
        return self._last_transcript

    # ---- options -------------------------------------------------------------------------

    def _options(self) -> ClaudeAgentOptions:
        limits = self._guard.limits
        turns_left = max(1, limits.max_turns - self._guard.turns)
        budget_left = max(0.01, self._guard.cost_left())
        notes = (
            ENGINE_NOTES.format(network="" if self._network else " and no network")
            if self._commands_allowed
            else ENGINE_NOTES_NO_COMMANDS
        )
        return ClaudeAgentOptions(
            # Without a working sandbox, Bash is neither offered nor allowed (the gate refuses
            # it too, should the CLI offer it anyway).
            tools=offered_tools(commands_allowed=self._commands_allowed),
            # Empty, also for the runner's own MCP tools: an allowed_tools entry would approve
            # them before `can_use_tool` is asked; the gate allows them itself.
            allowed_tools=[],
            disallowed_tools=[] if self._commands_allowed else [COMMAND_TOOL],
            system_prompt={
                "type": "preset",
                "preset": "claude_code",
                "append": f"{self._request.system_prompt.rstrip()}\n\n{notes}",
            },
            # The runner's own tools (if any) through one in-process MCP server; no other MCP.
            mcp_servers=(
                {SERVER_NAME: sdk_server(self._request.extra_tools)}
                if self._request.extra_tools
                else {}
            ),
            strict_mcp_config=True,
            setting_sources=[],
            verbatim_prompts=True,
            # One above what the guard allows: the guard, counting the same turns, trips first.
            max_turns=turns_left + 1,
            # The CLI learns a turn's cost before the runner does (the guard gets the total with
            # the result), so the budget is the CLI's to enforce mid-run; its stop is mapped to
            # the guard's LimitReached("cost").
            max_budget_usd=round(budget_left, 4),
            model=self._model,
            cwd=str(self._request.worktree.resolve()),
            cli_path=str(write_launcher(self._dirs, self._cli, self._env)),
            env=dict(self._env),
            stderr=self._stderr.append,
            can_use_tool=self._can_use_tool,
            resume=self._resume_id,
            hooks={
                "PreToolUse": [
                    HookMatcher(matcher=None, hooks=[self._pre_tool_use], on_failure="block")
                ]
            },
        )

    # ---- permission callbacks ----------------------------------------------------------

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

    async def _can_use_tool(
        self, name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        decision = self._decide(context.tool_use_id, name, tool_input)
        if decision.allowed:
            return PermissionResultAllow(updated_input=decision.updated_input)
        return PermissionResultDeny(message=_refusal(decision.reason))

    async def _pre_tool_use(
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
                "permissionDecisionReason": _refusal(decision.reason),
            }
        return {"hookSpecificOutput": output}

    # ---- the run -------------------------------------------------------------------------

    async def run(self) -> EngineOutcome:
        client = ClaudeSDKClient(self._options())
        try:
            result = await self._converse(client)
        finally:
            await self._shut_down(client)
            self._record_unfinished_commands()
            if self._request.transcript is not None:
                self._read_transcript()  # the conversation's end, for the session's last state
        final = (result.result if result.result else "") or self._last_text
        return EngineOutcome(final_text=final.strip(), commands=list(self._commands))

    async def _converse(self, client: ClaudeSDKClient) -> ResultMessage:
        try:
            await client.connect()
            await client.query(RESUME_NOTE if self._resume_id else self._request.prompt)
            messages = client.receive_response()
            try:
                async for message in messages:
                    result = self._handle(message)
                    if result is not None:
                        return result
                    await self._deliver_steering(client)
            finally:
                if isinstance(messages, AsyncGenerator):
                    await messages.aclose()
        except LimitReached as limit:
            self._gate.close(f"The session is stopping: {limit}.")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.interrupt(), INTERRUPT_TIMEOUT_S)
            raise
        except CLINotFoundError as error:
            raise EngineError(f"the Claude Code CLI could not be started: {error}") from error
        except ClaudeSDKError as error:  # CLIConnectionError, ProcessError, parse errors
            raise EngineError(self._cli_failure(str(error))) from error
        raise EngineError(self._cli_failure("the CLI ended the session without a result"))

    async def _deliver_steering(self, client: ClaudeSDKClient) -> None:
        """Maintainers' messages that arrived meanwhile, sent to the CLI as user messages: it
        adds them to the conversation before its next model request."""
        steering = self._request.steering
        if steering is None:
            return
        for message in steering.take():
            await client.query(message.as_user_message())
            steering.delivered(message)

    def _cli_failure(self, what: str) -> str:
        if self._failure is not None:
            kind, detail = self._failure
            return describe_model_failure(
                error_kind=kind, detail=detail, base_url=self._base_url, model=self._model
            )
        tail = " | ".join(line.strip() for line in self._stderr if line.strip())[-1500:]
        return (
            f"the Claude Code CLI failed: {what}"
            + (f" (stderr: {tail})" if tail else "")
            + ". Check ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN)."
        )

    async def _shut_down(self, client: ClaudeSDKClient) -> None:
        """Disconnect in a task a second cancellation cannot cut short; then kill leftovers."""
        closing = asyncio.ensure_future(client.disconnect())
        try:
            await asyncio.wait_for(asyncio.shield(closing), SHUTDOWN_TIMEOUT_S)
        except Exception:  # TimeoutError included: the process group is killed below
            log.warning("the Claude Code CLI did not shut down cleanly", exc_info=True)
        finally:
            _kill_process_group(self._dirs.pidfile, self._cli)

    # ---- messages ------------------------------------------------------------------------

    def _handle(self, message: object) -> ResultMessage | None:
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
            self._failure = (message.error, " ".join(texts) or (message.error or ""))
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
                self._last_text = block.text
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
        kind, detail = self._failure or (None, result.result or "; ".join(result.errors or []))
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
        self._commands.append(record)
        self._emit(CommandRan(record))

    def _record_unfinished_commands(self) -> None:
        """Commands decided but whose result never came back (the run stopped): record them."""
        for decision in self._gate.decisions.values():
            self._record_command(decision)


def _refusal(reason: str) -> str:
    return f"Refused by autocoder's policy: {reason}"


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


def _kill_process_group(pidfile: Path, cli: Path) -> None:
    """Kill the CLI's process group if the CLI (a session leader, see `launch`) still runs."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        leads_its_group = os.getpgid(pid) == pid
    except (OSError, ValueError):
        return  # never started, already gone, or no /proc to check that the pid is still ours
    if not cmdline.startswith(str(cli).encode()) or not leads_its_group:
        return
    log.warning("killing the Claude Code CLI (pid %s) and its process group", pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
