"""runner.resume: the pure decision of where a session starts and whether its model runs."""

from __future__ import annotations

import pytest

from runner.reporting.texts import build_status_comment
from runner.resume import ResumeKind, foreign_stop_reason, is_interrupted_status, plan_resume
from runner.task import Conclusion
from runner.workspace.identity import Identity
from runner.workspace.resume import BranchCommit, BranchHistory, Tip

APP = Identity("autocoder[bot]", "1+autocoder[bot]@users.noreply.github.com")
BASE = "b" * 40


def ours(sha: str, *, finished: bool = False, session: str = "s1") -> BranchCommit:
    engine = ("finished",) if finished else ()
    return BranchCommit(sha * 40, "work", APP.email, APP.email, (session,), engine)


def persons(sha: str) -> BranchCommit:
    return BranchCommit(sha * 40, "fix", "ada@example.com", "ada@example.com", (), ())


def tip(*commits: BranchCommit) -> Tip:
    return Tip(commits[-1].sha, commits)


WIP, DONE, MORE, ADA = ours("1"), ours("2", finished=True), ours("3", finished=True), persons("4")
# A forged trailer does not make a person's commit autocoder's.
FORGED = BranchCommit("5" * 40, "x", "ada@example.com", "ada@example.com", ("s9",), ("finished",))


@pytest.mark.parametrize(
    ("remote", "local", "pull_open", "interrupted", "kind", "start"),
    [
        (None, None, False, False, ResumeKind.FRESH, None),
        (None, None, False, True, ResumeKind.FRESH, None),
        (tip(WIP), None, False, False, ResumeKind.CONTINUE, WIP.sha),
        (tip(WIP), None, False, True, ResumeKind.CONTINUE, WIP.sha),  # the engine had not finished
        (tip(WIP, DONE), None, False, True, ResumeKind.DELIVER, DONE.sha),
        (tip(WIP, DONE), None, True, True, ResumeKind.DELIVER, DONE.sha),
        # Not interrupted: a new request on finished work runs the model again.
        (tip(WIP, DONE), None, True, False, ResumeKind.CONTINUE, DONE.sha),
        (tip(WIP, DONE), None, False, False, ResumeKind.CONTINUE, DONE.sha),
        # Committed on this machine, never pushed.
        (None, tip(DONE), False, True, ResumeKind.DELIVER, DONE.sha),
        (tip(WIP), tip(MORE), False, True, ResumeKind.DELIVER, MORE.sha),
        (None, tip(DONE), False, False, ResumeKind.FRESH, None),
        (None, tip(WIP), False, True, ResumeKind.FRESH, None),
        # Somebody else's commits on a branch without a pull request: stop.
        (tip(WIP, ADA), None, False, True, ResumeKind.FOREIGN, ADA.sha),
        (tip(DONE, ADA), None, False, False, ResumeKind.FOREIGN, ADA.sha),
        (tip(FORGED), None, False, True, ResumeKind.FOREIGN, FORGED.sha),
        # ... with an open pull request they are collaboration: build on them.
        (tip(WIP, ADA), None, True, False, ResumeKind.CONTINUE, ADA.sha),
        (tip(DONE, ADA), None, True, True, ResumeKind.CONTINUE, ADA.sha),
        (tip(FORGED), None, True, True, ResumeKind.CONTINUE, FORGED.sha),
    ],
)
def test_plan_resume(
    remote: Tip | None,
    local: Tip | None,
    pull_open: bool,
    interrupted: bool,
    kind: ResumeKind,
    start: str | None,
) -> None:
    history = BranchHistory(base_head=BASE, remote=remote, local=local)
    plan = plan_resume(history, identity=APP, pull_open=pull_open, interrupted=interrupted)
    assert (plan.kind, plan.start_sha) == (kind, start)
    if kind is ResumeKind.DELIVER:
        assert plan.finished_by == "s1"
        # Unpushed work: the check run opens on a commit GitHub has, until the push.
        known = None if local is None else remote.sha if remote is not None else BASE
        assert plan.report_on == known
    if kind is ResumeKind.FOREIGN:
        assert plan.foreign and all(c.author_email == "ada@example.com" for c in plan.foreign)


def test_only_a_running_status_comment_means_an_interrupted_session() -> None:
    running = build_status_comment(3, "running", check_run_url="https://x/runs/1")
    assert is_interrupted_status(running, 3)
    assert not is_interrupted_status(running, 4)  # another issue's marker
    for state in (Conclusion.SUCCESS, Conclusion.FAILURE, Conclusion.CANCELLED, "queued"):
        assert not is_interrupted_status(build_status_comment(3, state), 3)
    quoted = build_status_comment(3, Conclusion.FAILURE, detail=running)
    assert not is_interrupted_status(quoted, 3)


def test_foreign_stop_reason_names_the_commits_and_what_to_do() -> None:
    reason = foreign_stop_reason("autocoder/issue-3-x", tuple(persons(str(i)) for i in range(12)))
    assert "commits autocoder did not write" in reason and "`autocoder/issue-3-x`" in reason
    assert reason.count("ada@example.com") == 10 and "and 2 more" in reason
    assert "delete the branch" in reason
