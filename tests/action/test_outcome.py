"""The job summary, outputs, error annotation and exit code of each kind of outcome."""

from __future__ import annotations

from dataclasses import replace

from action.outcome import (
    OUTPUT_KEYS,
    SUMMARY_LIMIT_BYTES,
    ActionOutcome,
    Status,
    build_job_summary,
    build_outputs,
    error_message,
    exit_code,
    session_advice,
)
from runner.task import CommandRecord, Conclusion, SessionResult, Usage


def _result(conclusion: Conclusion, **fields: object) -> SessionResult:
    base: dict[str, object] = {
        "session_id": "abc123def456",
        "conclusion": conclusion,
        "summary": "Added hello.txt.",
        "branch": "autocoder/issue-3-hello",
        "pull_request_url": "https://github.com/o/r/pull/4",
        "check_run_url": "https://github.com/o/r/runs/9",
        "changed_files": ("hello.txt",),
        "usage": Usage(turns=3, input_tokens=100, output_tokens=20, cost_usd=0.0123),
        "commands": (CommandRecord("pytest -q", 0),),
    }
    base.update(fields)
    return SessionResult(**base)  # type: ignore[arg-type]


def _ran(result: SessionResult) -> ActionOutcome:
    return ActionOutcome(
        Status.RAN,
        "@mona labelled #3 'autocoder'",
        event="issues.labeled",
        repository="o/r",
        issue_number=3,
        result=result,
        advice=session_advice(result),
        progress=("autocoder session abc", "🔧 write_file hello.txt"),
    )


def test_success() -> None:
    outcome = _ran(_result(Conclusion.SUCCESS))
    assert exit_code(outcome) == 0
    assert error_message(outcome) is None
    assert build_outputs(outcome) == {
        "pr_url": "https://github.com/o/r/pull/4",
        "branch": "autocoder/issue-3-hello",
        "conclusion": "success",
        "session_id": "abc123def456",
        "cost_usd": "0.0123",
        "input_tokens": "100",
        "output_tokens": "20",
        "turns": "3",
    }
    summary = build_job_summary(outcome)
    for text in ("✅", "o/r#3", "pull/4", "runs/9", "`hello.txt`", "Added hello.txt", "pytest -q"):
        assert text in summary, text
    assert "write_file hello.txt" in summary


def test_neutral_is_not_a_failure() -> None:
    outcome = _ran(_result(Conclusion.NEUTRAL, pull_request_url=None, branch=None))
    assert exit_code(outcome) == 0
    assert build_outputs(outcome)["pr_url"] == ""


def test_failure_says_what_and_what_to_do() -> None:
    result = _result(Conclusion.FAILURE, error="could not connect to http://m/v1")
    outcome = _ran(result)
    assert exit_code(outcome) == 1
    message = error_message(outcome) or ""
    assert "o/r#3" in message and "failed" in message and "http://m/v1" in message
    assert "What to do:" in message and "base_url" in message
    assert "runs/9" in message
    assert "What to do" in build_job_summary(outcome)


def test_time_limit_and_cancel_fail_the_step_and_point_at_the_branch() -> None:
    for conclusion in (Conclusion.TIMED_OUT, Conclusion.CANCELLED):
        outcome = _ran(_result(conclusion))
        assert exit_code(outcome) == 1
        assert "autocoder/issue-3-hello" in (outcome.advice or "")


def test_skipped_and_setup_failure() -> None:
    skipped = ActionOutcome(Status.SKIPPED, "label 'bug' is not the trigger label", event="x")
    assert exit_code(skipped) == 0
    assert build_outputs(skipped) == dict.fromkeys(OUTPUT_KEYS, "") | {"conclusion": "skipped"}
    assert "Nothing to do" in build_job_summary(skipped)
    failed = ActionOutcome(Status.FAILED, "no GitHub credentials: set GITHUB_TOKEN")
    assert exit_code(failed) == 1
    assert build_outputs(failed)["conclusion"] == "failure"
    assert "GITHUB_TOKEN" in (error_message(failed) or "")
    assert "What went wrong: no GitHub credentials" in build_job_summary(failed)


def test_summary_stays_under_the_limit_keeping_the_latest_progress() -> None:
    progress = tuple(f"line {i} " + "x" * 200 for i in range(20_000))  # ~4 MB
    huge = _result(Conclusion.SUCCESS, summary="y" * 2_000_000)
    summary = build_job_summary(replace(_ran(huge), progress=progress))
    assert len(summary.encode()) <= SUMMARY_LIMIT_BYTES
    assert "line 19999 " in summary
    assert "earlier lines left out" in summary
    small = build_job_summary(_ran(_result(Conclusion.SUCCESS)), limit=2_000)
    assert len(small.encode()) <= 2_000


def test_progress_with_backticks_stays_inside_its_code_block() -> None:
    outcome = ActionOutcome(Status.FAILED, "x", progress=("```\n# heading", "`````"))
    summary = build_job_summary(outcome)
    assert "``````text" in summary
