"""One run of the Claude Code CLI: connect, send the task (or the resume note), read the stream
while delivering steering, and always shut the CLI down; plus the resume glue (issue #14)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import deque
from collections.abc import AsyncGenerator
from pathlib import Path

from claude_agent_sdk import ClaudeSDKClient, ClaudeSDKError, CLINotFoundError, ResultMessage

from runner.conversation_state import RESUME_NOTE
from runner.engines.base import EngineError, EngineOutcome, EngineRequest, EventSink
from runner.engines.claude.continuity import read_transcript, restore_transcript
from runner.engines.claude.errors import describe_model_failure
from runner.engines.claude.gate import ToolGate
from runner.engines.claude.launch import PrivateDirs
from runner.engines.claude.options import build_options
from runner.engines.claude.permissions import PermissionCallbacks
from runner.engines.claude.stream import MessageStream
from runner.limits import LimitReached

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 20.0  # the SDK's close() escalates stdin EOF → SIGTERM → SIGKILL in ~15 s
INTERRUPT_TIMEOUT_S = 5.0


class ClaudeSession:
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
        self._dirs = dirs
        self._env = env
        self._cli = cli
        self._base_url = base_url
        self._model = model
        self._gate = gate
        self._network = network
        self._commands_allowed = commands_allowed
        self._permissions = PermissionCallbacks(gate)
        self._stream = MessageStream(
            request, emit, gate=gate, base_url=base_url, model=model, quota_pause_s=quota_pause_s
        )
        self._stderr: deque[str] = deque(maxlen=30)
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

    # ---- the run -------------------------------------------------------------------------

    async def run(self) -> EngineOutcome:
        client = ClaudeSDKClient(
            build_options(
                self._request,
                dirs=self._dirs,
                env=self._env,
                cli=self._cli,
                model=self._model,
                network=self._network,
                commands_allowed=self._commands_allowed,
                stderr=self._stderr.append,
                can_use_tool=self._permissions.can_use_tool,
                pre_tool_use=self._permissions.pre_tool_use,
                resume=self._resume_id,
            )
        )
        try:
            result = await self._converse(client)
        finally:
            await self._shut_down(client)
            self._stream.record_unfinished_commands()
            if self._request.transcript is not None:
                self._read_transcript()  # the conversation's end, for the session's last state
        final = (result.result if result.result else "") or self._stream.last_text
        return EngineOutcome(final_text=final.strip(), commands=list(self._stream.commands))

    async def _converse(self, client: ClaudeSDKClient) -> ResultMessage:
        try:
            await client.connect()
            await client.query(RESUME_NOTE if self._resume_id else self._request.prompt)
            messages = client.receive_response()
            try:
                async for message in messages:
                    result = self._stream.handle(message)
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
        if self._stream.failure is not None:
            kind, detail = self._stream.failure
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
