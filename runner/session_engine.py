"""The engine part of a session: guidance and limits in, the engine run under them (a cancel,
the wall-time limit or a stall ends it), the feature checks at its end, an `Outcome` out."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from runner.engines.base import (
    CommandRan,
    EngineError,
    EngineEvent,
    EngineRequest,
    QuotaExhausted,
)
from runner.events import Spend
from runner.features.run import FeatureSession, feature_session
from runner.limits import LimitGuard, LimitReached, lowered_limits
from runner.prompt import INSTRUCTION_FILES, RepoGuidance, build_system_prompt, build_task_prompt
from runner.repo_config import RepoConfig, RepoConfigError, load_repo_config
from runner.reporting.reporter import SessionReporter
from runner.reporting.spend_text import spend_line
from runner.sandbox import Sandbox, SandboxUnavailable
from runner.session_continuity import continuity
from runner.session_outcome import Outcome
from runner.task import CommandRecord, Conclusion, Task, Usage
from runner.workspace import Worktree

if TYPE_CHECKING:
    from runner.session import SessionDeps


def _load_guidance(worktree: Path) -> tuple[RepoGuidance, RepoConfig, str | None]:
    files = []
    for name in INSTRUCTION_FILES:
        path = worktree / name
        if path.is_file():
            files.append((name, path.read_text(errors="replace")))
    problem = None
    try:
        config = load_repo_config(worktree)
    except RepoConfigError as error:
        config, problem = RepoConfig(), str(error)
    guidance = RepoGuidance(
        instruction_files=tuple(files),
        config_instructions=config.instructions,
        test_command=config.test_command,
    )
    return guidance, config, problem


async def run_engine(
    task: Task,
    deps: SessionDeps,
    session_id: str,
    worktree: Worktree,
    reporter: SessionReporter,
    cancel: asyncio.Event | None,
    *,
    clone_url: str,
) -> Outcome:
    guidance, config, problem = _load_guidance(worktree.path)
    if problem:
        reporter.say(f"⚠️ {problem} (using defaults)")
    status = Sandbox(worktree.path, network=config.network, mode=deps.sandbox).status
    sandbox = status.describe()
    reporter.say(("⚠️ " if status.notice() else "") + sandbox)
    reporter.set_sandbox_notice(status.notice())
    limits = lowered_limits(
        task.limits,
        max_turns=config.max_turns,
        timeout_minutes=config.timeout_minutes,
        max_cost_usd=config.max_cost_usd,
        max_tokens=config.max_tokens,
        caps=config.caps(),
    )

    def spent(usage: Usage) -> None:  # live spend: the check run, and the worker's records
        reporter.set_spend(spend_line(usage, guard.scopes()))
        deps.events(Spend(**usage.__dict__))

    guard = LimitGuard(limits, on_usage=spent)
    reporter.set_spend(spend_line(guard.usage(), guard.scopes()))
    features = feature_session(task.features, deps.feature_rest, task.repository, session_id)
    request = EngineRequest(
        session_id=session_id,
        system_prompt=build_system_prompt(task, guidance),
        prompt=build_task_prompt(task)
        + (features.prompt(task.body, worktree.path) if features else ""),
        extra_tools=tuple(features.tools.specs()) if features else (),
        worktree=worktree.path,
        guard=guard,
        model=deps.model,
        allowed_commands=tuple(config.allowed_commands),
        network=config.network,
        sandbox=deps.sandbox,
    )
    request, checkpointer = continuity(
        task, deps, session_id, worktree, reporter, request, config, clone_url
    )
    ticking = asyncio.create_task(checkpointer.run_periodically()) if checkpointer else None
    try:
        outcome = await _drive_engine(task, deps, request, reporter, cancel)
    finally:
        if ticking is not None and checkpointer is not None:
            await checkpointer.close(ticking)  # a checkpoint under way ends first
    outcome.transcript = request.transcript
    outcome.squash = config.squash_checkpoints
    if features is not None:
        await asyncio.to_thread(_end_features, features, task, config, deps, worktree, outcome)
        if outcome.stop_reason:
            reporter.say(outcome.stop_reason)
    outcome.usage = guard.usage()
    outcome.sandbox = sandbox
    return outcome


async def _drive_engine(
    task: Task,
    deps: SessionDeps,
    request: EngineRequest,
    reporter: SessionReporter,
    cancel: asyncio.Event | None,
) -> Outcome:
    guard = request.guard
    commands: list[CommandRecord] = []

    def emit(event: EngineEvent) -> None:
        guard.touch()  # every engine event is progress (see the stall watch below)
        if isinstance(event, CommandRan):
            commands.append(event.record)
        reporter.event(event)

    engine_task = asyncio.create_task(deps.engine.run(request, emit))
    flusher = asyncio.create_task(_flush_periodically(reporter, deps.progress_interval_s))
    cancel_wait = asyncio.create_task(cancel.wait()) if cancel is not None else None
    waiters: set[asyncio.Future[object]] = {engine_task}  # type: ignore[arg-type]
    if cancel_wait is not None:
        waiters.add(cancel_wait)  # type: ignore[arg-type]
    try:
        stall: LimitReached | None = None
        while True:  # until the engine ends, a cancel, the wall-time limit or a stall
            timeout = guard.remaining_s()
            stall_in = guard.next_stall_check_s()
            if stall_in is not None:
                timeout = min(timeout, stall_in + 0.05)
            done, _ = await asyncio.wait(
                waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stall = None if done else guard.stalled()
            if done or stall is not None or guard.remaining_s() <= 0:
                break
        if engine_task not in done:
            engine_task.cancel()
            with contextlib.suppress(BaseException):
                await engine_task
            if cancel_wait is not None and cancel_wait in done:
                return Outcome(
                    Conclusion.CANCELLED, stop_reason="Stopped on request.", commands=commands
                )
            if stall is not None:
                return Outcome(
                    Conclusion.TIMED_OUT,
                    stop_reason=f"{str(stall).capitalize()}; the work so far was committed "
                    "and pushed.",
                    commands=commands,
                    limit=str(stall),
                )
            return Outcome(
                Conclusion.TIMED_OUT,
                stop_reason=f"Wall-time limit reached ({guard.limits.timeout_s:.0f} s); "
                "the work so far was committed and pushed.",
                commands=commands,
                limit=f"wall-time limit reached ({guard.limits.timeout_s:.0f} s)",
            )
        try:
            outcome = engine_task.result()
        except LimitReached as limit:
            timed_out = limit.kind in ("time", "stall")
            conclusion = Conclusion.TIMED_OUT if timed_out else Conclusion.FAILURE
            return Outcome(
                conclusion,
                stop_reason=f"{str(limit).capitalize()}; the work so far was committed and pushed.",
                commands=commands,
                limit=str(limit),
            )
        except QuotaExhausted as quota:
            until = datetime.now(UTC) + timedelta(seconds=quota.wait_s)
            return Outcome(
                Conclusion.NEUTRAL,
                stop_reason=f"Paused until {until:%Y-%m-%d %H:%M:%S} UTC (model quota): {quota}; "
                "the work so far was committed and pushed, and the session resumes by itself.",
                error=str(quota),
                commands=commands,
                paused_until=until,
            )
        except EngineError as error:
            return Outcome(
                Conclusion.FAILURE,
                stop_reason=f"Model error: {error}",
                error=str(error),
                commands=commands,
            )
        return Outcome(Conclusion.SUCCESS, account=outcome.final_text, commands=commands)
    finally:
        flusher.cancel()
        if cancel_wait is not None:
            cancel_wait.cancel()


def _end_features(
    features: FeatureSession,
    task: Task,
    config: RepoConfig,
    deps: SessionDeps,
    worktree: Worktree,
    outcome: Outcome,
) -> None:
    """The passing rule at the session's end: the runner's checks, then the labels; the note
    (naming the feature) goes on the check run."""
    sandbox = Sandbox(worktree.path, network=config.network, mode=deps.sandbox)

    def run(command: str) -> tuple[int, str]:
        try:
            ran = sandbox.run(command)
        except SandboxUnavailable as error:
            return 126, str(error)
        return ran.exit_code, ran.output

    end = features.finish(
        config.test_command, run, engine_ok=outcome.conclusion is Conclusion.SUCCESS
    )
    outcome.features_passing = end.passing
    outcome.sequence = config.sequence
    if end.note:
        outcome.stop_reason = f"{end.note} {outcome.stop_reason or ''}".strip()


async def _flush_periodically(reporter: SessionReporter, interval_s: float) -> None:
    while True:
        await asyncio.sleep(max(interval_s, 0.5))
        await asyncio.to_thread(reporter.flush)
