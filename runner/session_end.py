"""End-of-session delivery: commit (squashing checkpoints), push, open or update the pull
request, answer a review, record the conversation, and the final report."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from runner.checkpoint import squash_checkpoints
from runner.conversation_state import ConversationState
from runner.events import CommitPushed, PrOpened, ResumeState
from runner.github.types import PullInfo
from runner.reporting.reporter import SessionReporter
from runner.reporting.summary import Report
from runner.reporting.texts import build_pull_request_body, build_pull_request_title
from runner.session_outcome import Outcome
from runner.task import Conclusion, SessionResult, Task, TaskKind
from runner.workspace import GitAuth, Identity, Worktree, run_git
from runner.workspace.nested import describe_excluded

if TYPE_CHECKING:
    from runner.session import SessionDeps


async def conclude(
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
    outcome: Outcome,
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
    deps: SessionDeps, outcome: Outcome, conclusion: Conclusion, head: str
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


def _commit_subject(task: Task, outcome: Outcome) -> str:
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
