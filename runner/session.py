"""The session orchestrator: one task in, one pull request (or a clear reason why not) out.

    repository → mirror + worktree → prompt → engine (under limits) → commit → push
               → pull request → check run completed → issue comment edited

Everything it touches comes in through `SessionDeps`; the pure parts (prompt, branch name,
texts) live in their own modules. Whatever happens inside the engine — a limit, a timeout, a
cancellation, a model error — the work so far is committed and pushed, and the check run ends in a
terminal state.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.checkpoint import Checkpointer, resume_fits, squash_checkpoints
from runner.checkpoint_notes import fetch_state_note, noting
from runner.conversation_state import ConversationState, SteeringInbox, SteerMessage, Transcript
from runner.engines.base import (
    CommandRan,
    Engine,
    EngineError,
    EngineEvent,
    EngineRequest,
    QuotaExhausted,
)
from runner.events import CommitPushed, PrOpened, ResumeState, SessionEvent, Spend, Steered
from runner.features.run import FeatureSession, feature_session
from runner.github.client import GitHubClient
from runner.github.issue_graph import Rest
from runner.github.types import PullInfo, RepoInfo
from runner.limits import LimitGuard, LimitReached, lowered_limits
from runner.prompt import INSTRUCTION_FILES, RepoGuidance, build_system_prompt, build_task_prompt
from runner.repo_config import RepoConfig, RepoConfigError, load_repo_config
from runner.reporting.reporter import CheckRunObserver, SessionReporter
from runner.reporting.spend_text import spend_line
from runner.reporting.summary import Report
from runner.reporting.texts import build_pull_request_body, build_pull_request_title
from runner.resume import (
    ResumeKind,
    close_interrupted_check_runs,
    delivered_account,
    plan_for_branch,
    previous_session_interrupted,
    stop_for_foreign_commits,
)
from runner.sandbox import Sandbox, SandboxMode, SandboxUnavailable
from runner.task import CommandRecord, Conclusion, SessionResult, Task, TaskKind, Usage
from runner.workspace import (
    GitAuth,
    Identity,
    MirrorCache,
    Worktree,
    branch_name,
    prepare_worktree,
    run_git,
)
from runner.workspace.nested import describe_excluded

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


@dataclass
class _Outcome:
    conclusion: Conclusion
    account: str = ""
    stop_reason: str | None = None
    error: str | None = None
    commands: list[CommandRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    sandbox: str = ""
    delivered: bool = False  # an interrupted session's finished work, delivered without a model
    limit: str | None = None  # the limit that ended it (a cap, a stall, a loop), named
    paused_until: datetime | None = None  # the model's quota ran out: it runs again then
    transcript: Transcript | None = None  # the conversation, for the next attempt
    squash: bool = False  # `squash_checkpoints`: the final commit replaces the checkpoints
    features_passing: tuple[int, ...] = ()  # labelled passing at its end (issue #13)
    sequence: str | None = None  # `.github/autocoder.yml` sequence: (issue #13)


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
    branch, pull = await asyncio.to_thread(_choose_branch, task, deps, mirror)
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
            outcome = _Outcome(Conclusion.SUCCESS, account=delivered_account(plan), delivered=True)
            start_sha = worktree.base_sha  # its work: the branch's commits
        else:
            outcome = await _run_engine(
                task, deps, session_id, worktree, reporter, cancel, clone_url=repo.clone_url
            )
        return await _conclude(
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


def _choose_branch(task: Task, deps: SessionDeps, mirror: Path) -> tuple[str, PullInfo | None]:
    """The branch to work on, and the open pull request already on it, if any."""
    if task.pull_number is not None:
        current = deps.github.get_pull(task.repository, task.pull_number)
        return current.head_ref, current
    branch = branch_name(task.issue_number, task.title)
    # Only a branch that exists on the remote can head an open pull request: a first session
    # asks GitHub nothing here.
    existing = existing_issue_branches(mirror, task.issue_number)
    candidates = [branch, *existing] if branch in existing else existing
    for candidate in dict.fromkeys(candidates):
        pull = deps.github.find_open_pull(task.repository, candidate)
        if pull is not None:
            return candidate, pull
    return branch, None


def existing_issue_branches(mirror: Path, issue_number: int) -> list[str]:
    """Branches on the remote made for this issue by an earlier session (the title may have
    changed since, so the slug may differ). The mirror keeps remote heads under
    refs/remotes/origin/."""
    remote = "refs/remotes/origin/"
    prefix = f"{remote}autocoder/issue-{issue_number}"
    out = run_git(["for-each-ref", "--format=%(refname)", prefix, prefix + "-*"], cwd=mirror)
    return [line.removeprefix(remote) for line in out.splitlines() if line.strip()]


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


async def _run_engine(
    task: Task,
    deps: SessionDeps,
    session_id: str,
    worktree: Worktree,
    reporter: SessionReporter,
    cancel: asyncio.Event | None,
    *,
    clone_url: str,
) -> _Outcome:
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
    request, checkpointer = _continuity(
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


def _continuity(
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


async def _drive_engine(
    task: Task,
    deps: SessionDeps,
    request: EngineRequest,
    reporter: SessionReporter,
    cancel: asyncio.Event | None,
) -> _Outcome:
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
                return _Outcome(
                    Conclusion.CANCELLED, stop_reason="Stopped on request.", commands=commands
                )
            if stall is not None:
                return _Outcome(
                    Conclusion.TIMED_OUT,
                    stop_reason=f"{str(stall).capitalize()}; the work so far was committed "
                    "and pushed.",
                    commands=commands,
                    limit=str(stall),
                )
            return _Outcome(
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
            return _Outcome(
                conclusion,
                stop_reason=f"{str(limit).capitalize()}; the work so far was committed and pushed.",
                commands=commands,
                limit=str(limit),
            )
        except QuotaExhausted as quota:
            until = datetime.now(UTC) + timedelta(seconds=quota.wait_s)
            return _Outcome(
                Conclusion.NEUTRAL,
                stop_reason=f"Paused until {until:%Y-%m-%d %H:%M:%S} UTC (model quota): {quota}; "
                "the work so far was committed and pushed, and the session resumes by itself.",
                error=str(quota),
                commands=commands,
                paused_until=until,
            )
        except EngineError as error:
            return _Outcome(
                Conclusion.FAILURE,
                stop_reason=f"Model error: {error}",
                error=str(error),
                commands=commands,
            )
        return _Outcome(Conclusion.SUCCESS, account=outcome.final_text, commands=commands)
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
    outcome: _Outcome,
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


async def _conclude(
    task: Task,
    deps: SessionDeps,
    session_id: str,
    started: float,
    clone_url: str,
    base_branch: str,
    worktree: Worktree,
    start_sha: str,
    pull: PullInfo | None,
    reporter: SessionReporter,
    outcome: _Outcome,
) -> SessionResult:
    subject = _commit_subject(task, outcome)
    co_authors = [Identity(task.triggered_by, f"{task.triggered_by}@users.noreply.github.com")]
    squashed = 0
    if outcome.squash and not outcome.delivered:
        squashed = await asyncio.to_thread(squash_checkpoints, worktree, deps.identity)
        if squashed:
            reporter.say(f"squashing {squashed} checkpoint commit(s) into the final commit")
    committed = await asyncio.to_thread(
        worktree.commit_all,
        subject,
        author=deps.identity,
        co_authors=co_authors,
        session_id=session_id,
        engine_finished=outcome.conclusion is Conclusion.SUCCESS,
    )
    new_sha = committed.sha
    deps.at_step("committed")
    branch_commits = worktree.commits_since_base()
    # What this session did, not what earlier sessions left on the branch.
    commits, changed = await asyncio.to_thread(_session_work, worktree, start_sha)
    conclusion = outcome.conclusion
    stop_reason = outcome.stop_reason
    opens_pull = pull is None and bool(branch_commits)  # earlier work not yet in a PR
    if conclusion is Conclusion.SUCCESS and not commits and not opens_pull:
        conclusion = Conclusion.NEUTRAL
        if pull is not None:
            stop_reason = f"This session changed nothing; pull request #{pull.number} is as it was."
    if committed.excluded_nested:
        note = describe_excluded(committed.excluded_nested)
        reporter.say(note)
        stop_reason = f"{stop_reason} {note}" if stop_reason else note

    pushed = False
    if new_sha is not None or opens_pull:
        # Forced only over autocoder's own checkpoints, on a lease of the head it pushed last.
        head = await asyncio.to_thread(
            worktree.push, clone_url, GitAuth(deps.git_token()), force=squashed > 0
        )
        pushed = True
        reporter.say(f"pushed {head[:7]} to {worktree.branch}")
        deps.events(CommitPushed(branch=worktree.branch, sha=head))
        await asyncio.to_thread(reporter.moved_to, head)
    _record_conversation(deps, outcome, conclusion, worktree.head_sha())

    report = Report(
        conclusion=conclusion,
        account=outcome.account,
        changed_files=changed,
        commits=commits,
        usage=outcome.usage,
        duration_s=time.monotonic() - started,
        commands=outcome.commands,
        sandbox=outcome.sandbox,
        stop_reason=stop_reason,
        draft=pull.draft if pull is not None else deps.draft,
        paused_until=outcome.paused_until,
    )
    if (pushed or (pull is not None and changed)) and not (outcome.delivered and pull):
        # (A delivered session keeps the pull request's body: it holds the model's account.)
        pull = await asyncio.to_thread(
            _open_or_update_pull, task, deps, base_branch, worktree.branch, pull, report
        )
    if pull is not None:
        deps.events(PrOpened(number=pull.number, url=pull.html_url))
        reporter.pull_request_url = pull.html_url
        report = Report(
            **{**report.__dict__, "pull_request_url": pull.html_url, "draft": pull.draft}
        )
    if task.kind is TaskKind.FOLLOW_UP and pull is not None:
        await asyncio.to_thread(_answer_review, task, deps, pull, report)
    await asyncio.to_thread(reporter.finish, report)
    return SessionResult(
        session_id=session_id,
        conclusion=conclusion,
        summary=outcome.account,
        branch=worktree.branch if (pushed or pull is not None) else None,
        pull_request_url=pull.html_url if pull else None,
        pull_number=pull.number if pull else None,
        check_run_url=reporter.check_run_url,
        commits=tuple(commits),
        changed_files=tuple(changed),
        usage=report.usage,
        duration_s=report.duration_s,
        commands=tuple(outcome.commands),
        error=outcome.error,
        sandbox_notice=reporter.sandbox_notice,
        github_requests=deps.github.requests_sent,
        limit=outcome.limit,
        features_passing=outcome.features_passing,
        sequence=outcome.sequence,
        paused_until=outcome.paused_until,
    )


def _record_conversation(
    deps: SessionDeps, outcome: _Outcome, conclusion: Conclusion, head: str
) -> None:
    """The conversation as the session ends: what the next attempt continues from, or, when
    the task is done, a mark that there is nothing to continue."""
    finished = outcome.paused_until is None and conclusion in (
        Conclusion.SUCCESS,
        Conclusion.NEUTRAL,
    )
    if outcome.transcript is not None:
        state = outcome.transcript.snapshot(head, finished=finished)
    elif finished:
        state = ConversationState(engine="openai", head_sha=head, finished=True)
    else:
        return
    deps.events(ResumeState(state=state))


def _session_work(worktree: Worktree, start_sha: str) -> tuple[list[str], list[str]]:
    """This session's commits ("sha subject", oldest first) and the files they changed."""

    def git(*args: str) -> str:  # the worktree's own git dir, never one found in the worktree
        return run_git(list(args), worktree.path, git_dir=worktree.git_dir, work_tree=worktree.path)

    log_out = git("log", "--reverse", "--format=%H%x1f%s%x1e", f"{start_sha}..HEAD")
    commits = []
    for record in log_out.split("\x1e"):
        sha, _, subject = record.strip("\n").partition("\x1f")
        if sha:
            commits.append(f"{sha[:7]} {subject}")
    diff = git("diff", "--name-only", "--no-renames", "-z", start_sha, "HEAD", "--")
    return commits, sorted({name for name in diff.split("\0") if name})


def _commit_subject(task: Task, outcome: _Outcome) -> str:
    title = " ".join(task.title.split())[:60]
    if task.kind is TaskKind.FOLLOW_UP:
        head = f"Address review on #{task.pull_number}"
    else:
        head = f"#{task.issue_number}: {title}"
    unfinished = (Conclusion.TIMED_OUT, Conclusion.CANCELLED, Conclusion.FAILURE)
    if outcome.conclusion in unfinished or outcome.paused_until is not None:
        head += " (work in progress)"
    return head


def _open_or_update_pull(
    task: Task,
    deps: SessionDeps,
    base_branch: str,
    branch: str,
    pull: PullInfo | None,
    report: Report,
) -> PullInfo:
    github = deps.github
    body = build_pull_request_body(task.issue_number, task.triggered_by, report)
    if pull is not None:
        if task.kind is TaskKind.NEW_WORK:
            github.update_pull(task.repository, pull.number, body=body)
        return github.get_pull(task.repository, pull.number)
    created = github.create_pull(
        task.repository,
        title=build_pull_request_title(task.title, task.issue_number),
        body=body,
        head=branch,
        base=base_branch,
        draft=deps.draft,
    )
    github.request_reviewers(task.repository, created.number, [task.triggered_by])
    return created


def _answer_review(task: Task, deps: SessionDeps, pull: PullInfo, report: Report) -> None:
    review = task.review
    if review is None:
        return
    commits = "\n".join(f"- {line}" for line in report.commits[-5:]) or "_No new commits._"
    body = "\n".join(
        [
            f"@{review.author} thanks for the review. What changed:",
            "",
            report.account.strip() or "_The model gave no account._",
            "",
            "Commits:",
            commits,
        ]
    )
    deps.github.create_issue_comment(task.repository, pull.number, body)
