"""The session orchestrator: one task in, one pull request (or a clear reason why not) out.

    repository → mirror + worktree → prompt → engine (under limits) → commit → push
               → pull request → check run completed → issue comment edited

Everything it touches comes in through `SessionDeps`; the pure parts (prompt, branch name,
texts) live in their own modules, and so do the steps: choosing the branch (`session_start`),
the engine run (`session_engine`, with `session_continuity` for resume, steering and
checkpoints) and the delivery (`session_end`). Whatever happens inside the engine — a limit, a
timeout, a cancellation, a model error — the work so far is committed and pushed, and the check
run ends in a terminal state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.conversation_state import ConversationState, SteeringInbox
from runner.engines.base import Engine
from runner.events import SessionEvent
from runner.github.client import GitHubClient
from runner.github.issue_graph import Rest
from runner.github.types import RepoInfo
from runner.reporting.reporter import CheckRunObserver, SessionReporter
from runner.reporting.summary import Report
from runner.resume import (
    ResumeKind,
    close_interrupted_check_runs,
    delivered_account,
    plan_for_branch,
    previous_session_interrupted,
    stop_for_foreign_commits,
)
from runner.sandbox import SandboxMode
from runner.session_end import conclude
from runner.session_engine import run_engine
from runner.session_outcome import Outcome
from runner.session_start import choose_branch
from runner.task import Conclusion, SessionResult, Task, TaskKind
from runner.workspace import GitAuth, Identity, MirrorCache, prepare_worktree

log = logging.getLogger(__name__)

NO_CHECK_RUNS = (
    "ℹ️ no check run: GitHub lets only a GitHub App create check runs, and this is a personal "
    "token; progress is reported in the issue comment"
)


@dataclass
class SessionDeps:
    github: GitHubClient
    engine: Engine
    git_token: Callable[[], str | None]  # a fresh token for each git command that needs one
    mirrors: MirrorCache
    identity: Identity
    model: str | None = None
    draft: bool = True
    work_dir: Path | None = None  # where worktrees go; a temp dir by default
    echo: Callable[[str], None] = lambda line: None
    check_run_observer: CheckRunObserver | None = None  # told of check runs opened, concluded
    details_url: str | None = None  # the check runs' Details link (the dashboard's session page)
    # Told "committed" once the session's work is committed, before the push (`events` tells
    # of the push and the pull request): the points where a kill leaves work to resume.
    at_step: Callable[[str], None] = lambda step: None
    progress_interval_s: float = 10.0
    sandbox: SandboxMode = SandboxMode.AUTO  # AUTOCODER_SANDBOX: without a sandbox, no commands
    events: Callable[[SessionEvent], None] = lambda event: None  # pushes, the pull request
    feature_rest: Rest | None = None  # GitHub REST for a spec/feature task's tools (issue #13)
    # Issue #14: work in progress pushed every `checkpoint_interval_s` (None: never); an earlier
    # attempt's conversation to continue; maintainers' messages for the running agent.
    checkpoint_interval_s: float | None = None
    resume: ConversationState | None = None
    steering: SteeringInbox | None = None
    # No database to keep the conversation (the Action): it goes to the branch's notes ref, and
    # the next run reads it from there (`runner.checkpoint_notes`).
    resume_notes: bool = False
    # The repository as the caller already knows it (a webhook said so): not read again.
    repository: RepoInfo | None = None


def new_session_id() -> str:
    return uuid.uuid4().hex[:16]


async def run_session(
    task: Task,
    deps: SessionDeps,
    *,
    session_id: str | None = None,
    cancel: asyncio.Event | None = None,
) -> SessionResult:
    session_id = session_id or new_session_id()
    started = time.monotonic()
    github = deps.github
    reporter = SessionReporter(
        github,
        task.repository,
        task.issue_number,
        echo=deps.echo,
        observer=deps.check_run_observer,
        details_url=deps.details_url,
    )
    reporter.throttle.interval_s = deps.progress_interval_s
    reporter.say(f"autocoder session {session_id} for {task.repository}#{task.issue_number}")

    try:
        return await _run(task, deps, session_id, started, reporter, cancel)
    except Exception as error:
        # Whatever broke (git, GitHub, a bug), nobody is left looking at a session that seems
        # to be running: the check run and the issue comment say it failed and why.
        await asyncio.to_thread(_report_crash, reporter, error, time.monotonic() - started)
        raise


async def _run(
    task: Task,
    deps: SessionDeps,
    session_id: str,
    started: float,
    reporter: SessionReporter,
    cancel: asyncio.Event | None,
) -> SessionResult:
    github = deps.github
    repo = deps.repository
    if repo is None or repo.full_name.lower() != task.repository.lower():
        repo = await asyncio.to_thread(github.get_repository, task.repository)
    base_branch = task.base_branch or repo.default_branch
    # Did the last session for this issue end? (runner.resume; read before this one comments)
    interrupted = await asyncio.to_thread(previous_session_interrupted, reporter)
    if task.kind is TaskKind.NEW_WORK:
        await asyncio.to_thread(reporter.acknowledge)
    # The status comment is posted once the check run exists, so it links to it at once.

    auth = GitAuth(deps.git_token())
    mirror = await asyncio.to_thread(deps.mirrors.update, repo.clone_url, auth)
    if task.base_branch:  # a stacked base merged and deleted: the default branch (issue #13)
        from runner.features.base import start_branch

        base_branch = await asyncio.to_thread(
            start_branch, mirror, task.base_branch, repo.default_branch
        )
    branch, pull = await asyncio.to_thread(choose_branch, task, deps, mirror)
    plan, stale_heads = await asyncio.to_thread(
        plan_for_branch, mirror, base_branch, branch, deps.identity, pull is not None, interrupted
    )
    work_root = Path(tempfile.mkdtemp(prefix="autocoder-", dir=deps.work_dir))
    try:
        worktree = await asyncio.to_thread(
            prepare_worktree,
            mirror,
            base_branch=base_branch,
            branch=branch,
            existing_branch=pull is not None,
            dest=work_root / "work",
            start_sha=plan.start_sha,
        )
    except BaseException:
        shutil.rmtree(work_root, ignore_errors=True)
        raise
    try:
        start_sha = worktree.head_sha()
        if interrupted:
            await asyncio.to_thread(
                close_interrupted_check_runs,
                github,
                task.repository,
                task.issue_number,
                stale_heads,
                session_id,
            )
        if not await asyncio.to_thread(github.can_create_check_runs):
            # Not an error to blame on permissions: GitHub gives check runs to Apps only.
            reporter.check_runs_unavailable = True
            reporter.say(NO_CHECK_RUNS)
        await asyncio.to_thread(reporter.start, plan.report_on or start_sha)
        await asyncio.to_thread(reporter.comment, "running")
        reporter.say(f"branch {branch} from {start_sha[:7]}")
        if plan.kind is ResumeKind.FOREIGN:
            return await asyncio.to_thread(
                stop_for_foreign_commits, reporter, plan, branch, session_id, started
            )
        if plan.kind is ResumeKind.DELIVER:
            reporter.say(f"delivering the finished work of session {plan.finished_by}")
            outcome = Outcome(Conclusion.SUCCESS, account=delivered_account(plan), delivered=True)
            start_sha = worktree.base_sha  # its work: the branch's commits
        else:
            outcome = await run_engine(
                task, deps, session_id, worktree, reporter, cancel, clone_url=repo.clone_url
            )
        return await conclude(
            task,
            deps,
            session_id,
            started,
            repo.clone_url,
            base_branch,
            worktree,
            start_sha,
            pull,
            reporter,
            outcome,
        )
    finally:
        with contextlib.suppress(Exception):
            worktree.remove()
        shutil.rmtree(work_root, ignore_errors=True)


def _report_crash(reporter: SessionReporter, error: Exception, duration_s: float) -> None:
    report = Report(
        conclusion=Conclusion.FAILURE,
        account="",
        duration_s=duration_s,
        stop_reason=f"The session stopped on an error: {error}",
    )
    try:
        reporter.finish(report)
    except Exception as report_error:  # the original error is what matters
        log.warning("could not report the failure to GitHub: %s", report_error)
