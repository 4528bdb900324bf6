"""What people read about a session: check-run summary and text, issue comment, PR body."""

from __future__ import annotations

from runner.limits import LimitGuard, LimitReached
from runner.reporting.limits import CHECK_RUN_TEXT_LIMIT
from runner.reporting.markers import issue_of_pull_request, pull_request_marker
from runner.reporting.summary import (
    Report,
    build_progress_text,
    build_summary,
    build_text,
    conclusion_title,
)
from runner.reporting.texts import build_pull_request_body, build_status_comment
from runner.reporting.throttle import Throttle
from runner.task import CommandRecord, Conclusion, Limits, Usage


def _report(**changes: object) -> Report:
    base: dict[str, object] = dict(
        conclusion=Conclusion.SUCCESS,
        account="Added hello.py because the issue asked for a greeting.",
        changed_files=["hello.py"],
        commits=["abc1234 #7: Add a greeting"],
        usage=Usage(turns=3, input_tokens=1200, output_tokens=300, cost_usd=0.0123),
        duration_s=75,
        commands=[
            CommandRecord("pytest -q", 0),
            CommandRecord("curl x | sh", None, refused_reason="`curl` is not on the allowlist"),
            CommandRecord("sleep 999", -9, timed_out=True),
        ],
        sandbox="bubblewrap: network off",
    )
    base.update(changes)
    return Report(**base)  # type: ignore[arg-type]


def test_summary_has_figures_and_text_has_account_files_commits_commands() -> None:
    report = _report()
    summary = build_summary(report)
    assert "| 3 | 1,200 / 300 | $0.0123 | 1m 15s |" in summary
    assert "bubblewrap: network off" in summary
    text = build_text(report)
    assert "Added hello.py because" in text
    assert "- `hello.py`" in text
    assert "abc1234 #7: Add a greeting" in text
    assert "| `pytest -q` | exit 0 |" in text
    assert "refused: `curl` is not on the allowlist" in text
    assert "timed out" in text


def test_command_with_pipe_does_not_break_the_table() -> None:
    text = build_text(_report(commands=[CommandRecord("ls | wc -l", 0)]))
    assert "| `ls \\| wc -l` | exit 0 |" in text


def test_huge_report_fits_github_limits() -> None:
    many = [CommandRecord(f"echo {'x' * 150} {n}", 0) for n in range(2000)]
    text = build_text(_report(account="y" * 80_000, commands=many))
    assert len(text) <= CHECK_RUN_TEXT_LIMIT
    assert text.endswith("(truncated to fit GitHub's size limit)")
    progress = build_progress_text([f"line {n} " + "z" * 100 for n in range(5000)])
    assert len(progress) <= CHECK_RUN_TEXT_LIMIT
    assert progress.startswith("…(earlier progress omitted)")
    assert progress.endswith("line 4999 " + "z" * 100)


def test_pull_request_body_closes_issue_and_carries_marker() -> None:
    body = build_pull_request_body(7, "mona", _report())
    assert body.startswith("Closes #7\n")
    assert "@mona" in body
    assert issue_of_pull_request(body) == 7
    assert issue_of_pull_request("Closes #7 by hand") is None
    assert pull_request_marker(7) in body


def test_a_draft_pull_request_is_never_called_ready_for_review() -> None:
    draft = _report(draft=True)
    assert conclusion_title(draft) == "Draft pull request opened"
    assert build_summary(draft).startswith("**Draft pull request opened**")
    body = build_pull_request_body(7, "mona", draft)
    assert "ready for review." not in body.lower()
    assert "Draft pull request: mark it ready for review once it looks right." in body
    ready = _report(draft=False)
    assert conclusion_title(ready) == "Pull request ready for review"
    assert "Pull request ready for review." in build_pull_request_body(7, "mona", ready)
    failed = _report(conclusion=Conclusion.FAILURE, draft=True)
    assert conclusion_title(failed) == "Session failed"


def test_status_comment_links_and_state() -> None:
    body = build_status_comment(
        7,
        Conclusion.TIMED_OUT,
        check_run_url="http://gh/check/1",
        pull_request_url="http://gh/pull/2",
        detail="Wall-time limit reached",
    )
    assert body.startswith("<!-- autocoder:status issue=7 -->")
    assert "stopped at the time limit" in body
    assert "pull request: http://gh/pull/2" in body and "check run: http://gh/check/1" in body


def test_throttle_allows_one_update_per_interval_and_forced_ones_reset_it() -> None:
    now = [0.0]
    throttle = Throttle(interval_s=10, clock=lambda: now[0])
    assert throttle.ready()
    now[0] = 5
    assert not throttle.ready()
    now[0] = 10.5
    assert throttle.ready()
    now[0] = 12
    throttle.force()
    now[0] = 21
    assert not throttle.ready()
    now[0] = 22.5
    assert throttle.ready()


def test_limit_guard_stops_at_each_cap() -> None:
    now = [0.0]
    guard = LimitGuard(Limits(max_turns=2, timeout_s=60, max_cost_usd=1.0), clock=lambda: now[0])
    guard.record_turn(input_tokens=10, output_tokens=5, cost_usd=0.1)
    try:
        guard.record_turn(cost_usd=0.1)
    except LimitReached as reached:
        assert reached.kind == "turns"
    else:
        raise AssertionError("the turn limit did not stop the session")
    assert guard.usage() == Usage(turns=2, input_tokens=10, output_tokens=5, cost_usd=0.2)

    costly = LimitGuard(Limits(max_turns=99, max_cost_usd=0.5), clock=lambda: now[0])
    try:
        costly.record_turn(cost_usd=0.6)
    except LimitReached as reached:
        assert reached.kind == "cost" and "$0.60 of $0.50" in str(reached)
    else:
        raise AssertionError("the spend limit did not stop the session")

    slow = LimitGuard(Limits(timeout_s=30), clock=lambda: now[0])
    now[0] += 31
    try:
        slow.check()
    except LimitReached as reached:
        assert reached.kind == "time"
    else:
        raise AssertionError("the time limit did not stop the session")
    assert slow.remaining_s() == 0
