"""Issue #14 around the engine: resuming an earlier conversation, maintainers' messages
(steering) and their acknowledgement, and the checkpointer that pushes work in progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from runner.checkpoint import Checkpointer, resume_fits
from runner.checkpoint_notes import fetch_state_note, noting
from runner.conversation_state import SteerMessage, Transcript
from runner.engines.base import EngineRequest
from runner.events import Steered
from runner.repo_config import RepoConfig
from runner.reporting.reporter import SessionReporter
from runner.task import Task
from runner.workspace import GitAuth, Worktree

if TYPE_CHECKING:
    from runner.session import SessionDeps

log = logging.getLogger("runner.session")  # as before the split from runner/session.py


def continuity(
    task: Task,
    deps: SessionDeps,
    session_id: str,
    worktree: Worktree,
    reporter: SessionReporter,
    request: EngineRequest,
    config: RepoConfig,
    clone_url: str,
) -> tuple[EngineRequest, Checkpointer | None]:
    """Issue #14 around the engine: the earlier conversation (when it belongs to this branch),
    the transcript checkpoints record, maintainers' messages, and the checkpointer."""
    transcript = Transcript("claude" if deps.engine.name == "claude" else "openai")
    if deps.resume_notes:
        deps.events = noting(deps.events, worktree, clone_url, deps.git_token, deps.identity)
        if deps.resume is None:
            deps.resume = fetch_state_note(worktree, clone_url, GitAuth(deps.git_token()))
    resume = deps.resume if resume_fits(worktree.path, worktree.git_dir, deps.resume) else None
    if resume is not None:
        reporter.say(f"resuming the conversation of an earlier attempt (at {resume.head_sha})")
    steering = deps.steering
    if steering is not None:
        steering.accept_mentions = config.steer == "mentions"
        steering.on_delivered = _acknowledger(task, deps, reporter)
    request = replace(request, resume=resume, transcript=transcript, steering=steering)
    if not deps.checkpoint_interval_s:
        return request, None
    checkpointer = Checkpointer(
        worktree,
        clone_url=clone_url,
        git_token=deps.git_token,
        identity=deps.identity,
        session_id=session_id,
        subject=f"#{task.issue_number}",
        interval_s=deps.checkpoint_interval_s,
        transcript=transcript,
        emit=deps.events,
        say=reporter.say,
    )
    return request, checkpointer


def _acknowledger(
    task: Task, deps: SessionDeps, reporter: SessionReporter
) -> Callable[[SteerMessage], None]:
    """What happens once a maintainer's message reached the model: a reaction on the comment,
    a line on the check run, an event for the worker."""

    def acknowledge(message: SteerMessage) -> None:
        reporter.say(f"📨 message from @{message.author} given to the agent: {message.text[:200]}")
        deps.events(Steered(comment_id=message.comment_id, author=message.author))
        try:
            deps.github.add_comment_reaction(task.repository, message.comment_id, "eyes")
        except Exception as error:  # the message reached the model all the same
            log.warning("could not react to comment %s: %s", message.comment_id, error)

    def in_background(message: SteerMessage) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            acknowledge(message)
            return
        loop.run_in_executor(None, acknowledge, message)

    return in_background
