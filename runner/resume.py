"""Resuming the issue's branch: where a session starts, and whether the model runs at all.

A session can die anywhere (SIGKILL, a machine crash) — also after its engine finished and its
work was committed, pushed, or opened as a pull request, but before the session concluded. The
next attempt must finish that session's job, not start over from the base branch (which the
remote refuses as a non-fast-forward push) nor pay for the model's work twice:

- the issue's branch on the remote (or, when the mirror's own branch is ahead of it, that one)
  is where the worktree starts;
- when the previous session was interrupted (its status comment on the issue still says it is
  running: a session that ends, however it ends, edits it) and the head holds work its engine
  had finished (`Autocoder-Engine: finished`), the work is delivered as it is — push, pull
  request "Closes #N", check run, status comment — without running the model again;
- when a branch without a pull request holds commits autocoder did not write (a person pushed to
  it), the session stops before the model runs and says so: it never builds on, nor pushes
  over, work it did not write. (On a branch with an open pull request people's commits are
  normal collaboration; the session builds on them and never forces a push.)

`plan_resume` is the pure decision; the rest reads and writes GitHub.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.github.client import GitHubClient
from runner.github.errors import GitHubError
from runner.reporting.markers import status_comment_marker
from runner.reporting.reporter import ACTIONS_DONE, CHECK_RUN_NAME, SessionReporter
from runner.reporting.summary import Report
from runner.reporting.texts import STATE_WORDS
from runner.task import Conclusion, SessionResult
from runner.workspace.identity import Identity
from runner.workspace.resume import BranchCommit, BranchHistory, read_branch_history

log = logging.getLogger(__name__)

FOREIGN_SHOWN = 10  # foreign commits named in a report


class ResumeKind(enum.StrEnum):
    FRESH = "fresh"  # no earlier work: start from the base branch
    CONTINUE = "continue"  # earlier work: start from it and run the model
    DELIVER = "deliver"  # finished work of an interrupted session: deliver it, no model
    FOREIGN = "foreign"  # commits autocoder did not write: stop before the model runs


@dataclass(frozen=True)
class ResumePlan:
    kind: ResumeKind
    start_sha: str | None = None  # where the worktree starts; None: as before (base or PR head)
    finished_by: str | None = None  # DELIVER: the session whose engine finished the work
    foreign: tuple[BranchCommit, ...] = ()  # FOREIGN: the commits autocoder did not write
    # Where the check run opens when `start_sha` is not on the remote yet (it moves there after
    # the push); None: on `start_sha`.
    report_on: str | None = None


def plan_resume(
    history: BranchHistory, *, identity: Identity, pull_open: bool, interrupted: bool
) -> ResumePlan:
    """Where the session starts and whether its model runs (see the module's docstring)."""
    remote, local = history.remote, history.local
    if remote is not None and not pull_open:
        foreign = remote.foreign(identity)
        if foreign:
            return ResumePlan(ResumeKind.FOREIGN, start_sha=remote.sha, foreign=foreign)
    local_head = local.head if local is not None else None
    if (
        interrupted
        and local is not None
        and local_head is not None
        and local_head.engine_finished
        and not local.foreign(identity)
    ):
        # Committed on this machine by a session that never pushed it (killed in between).
        known = remote.sha if remote is not None else history.base_head
        return ResumePlan(
            ResumeKind.DELIVER, local.sha, finished_by=local_head.session, report_on=known
        )
    if remote is None:
        return ResumePlan(ResumeKind.FRESH)
    head = remote.head
    if interrupted and head is not None and head.engine_finished and head.written_by(identity):
        return ResumePlan(ResumeKind.DELIVER, remote.sha, finished_by=head.session)
    return ResumePlan(ResumeKind.CONTINUE, start_sha=remote.sha)


def plan_for_branch(
    mirror: Path,
    base_branch: str,
    branch: str,
    identity: Identity,
    pull_open: bool,
    interrupted: bool,
) -> tuple[ResumePlan, tuple[str, ...]]:
    """The plan for `branch` as the mirror (just updated) shows it, and the heads an
    interrupted session may have left a check run open on (base, remote and local heads)."""
    history = read_branch_history(mirror, base_branch=base_branch, branch=branch)
    plan = plan_resume(history, identity=identity, pull_open=pull_open, interrupted=interrupted)
    heads = [history.base_head]
    heads += [tip.sha for tip in (history.remote, history.local) if tip is not None]
    return plan, tuple(dict.fromkeys(heads))


def is_interrupted_status(body: str, issue_number: int) -> bool:
    """Whether a status comment says its session is still running (so, if no session runs now,
    that it was interrupted). A session edits it at the end, whatever the end."""
    if status_comment_marker(issue_number) not in body:
        return False
    running = f"**autocoder**: {STATE_WORDS['running']}"
    return any(line.strip() == running for line in body.splitlines()[:3])


def previous_session_interrupted(reporter: SessionReporter) -> bool:
    """Read the issue's status comment before this session writes to it: True when the last
    session left it "running". Remembers the comment on `reporter` (no second lookup)."""
    marker = status_comment_marker(reporter.issue_number)
    comment = reporter.github.find_issue_comment(reporter.repository, reporter.issue_number, marker)
    if comment is None:
        return False
    reporter.comment_id = comment.id
    return is_interrupted_status(comment.body, reporter.issue_number)


def close_interrupted_check_runs(
    github: GitHubClient, repository: str, issue_number: int, heads: Iterable[str], session_id: str
) -> list[int]:
    """Complete the check runs an interrupted session left `in_progress` on `heads` (only this
    issue's: their external id names it); returns their ids. Failures are logged, not raised."""
    prefix = f"autocoder:issue-{issue_number}:"
    closed: list[int] = []
    for head in dict.fromkeys(heads):
        try:
            runs = github.list_check_runs(repository, head, CHECK_RUN_NAME)
            for run in runs:
                if run.status == "completed" or not (run.external_id or "").startswith(prefix):
                    continue
                github.update_check_run(
                    repository,
                    run.id,
                    status="completed",
                    conclusion="cancelled",
                    title="Interrupted",
                    summary=f"The session running this check stopped without concluding it; "
                    f"session {session_id} continues its work.",
                    actions=ACTIONS_DONE,
                )
                closed.append(run.id)
        except GitHubError as error:
            log.warning("could not close the check runs left open on %s: %s", head[:7], error)
    return closed


def foreign_stop_reason(branch: str, foreign: tuple[BranchCommit, ...]) -> str:
    """What the check run and the issue say when the branch holds commits autocoder did not
    write."""
    shown = "\n".join(f"- `{commit.describe()}`" for commit in foreign[:FOREIGN_SHOWN])
    more = len(foreign) - FOREIGN_SHOWN
    if more > 0:
        shown += f"\n- … and {more} more"
    return (
        f"Stopped before the model ran: the branch `{branch}` has commits autocoder did not "
        f"write, and it never builds on or pushes over them:\n{shown}\n\n"
        "To go on, open a pull request from that branch (autocoder then works on it as a "
        "follow-up), or delete the branch so that autocoder starts it afresh; then trigger "
        "autocoder again."
    )


def delivered_account(plan: ResumePlan) -> str:
    """The account of a session that delivered an interrupted session's finished work."""
    who = f"session {plan.finished_by}" if plan.finished_by else "an earlier session"
    return (
        f"The engine of {who} finished this work, and that session was interrupted before it "
        "was delivered; this session delivered it without running the model again."
    )


def stop_for_foreign_commits(
    reporter: SessionReporter, plan: ResumePlan, branch: str, session_id: str, started: float
) -> SessionResult:
    """Conclude the session (check run and status comment) without running the model: the
    branch holds commits autocoder did not write."""
    reason = foreign_stop_reason(branch, plan.foreign)
    report = Report(
        conclusion=Conclusion.FAILURE,
        account="",
        duration_s=time.monotonic() - started,
        stop_reason=reason,
    )
    reporter.finish(report)
    return SessionResult(
        session_id=session_id,
        conclusion=Conclusion.FAILURE,
        summary="",
        check_run_url=reporter.check_run_url,
        duration_s=report.duration_s,
        error=reason,
        sandbox_notice=reporter.sandbox_notice,
    )
