"""The markdown a session reports: check-run summary and text, built from plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from runner.reporting.limits import CHECK_RUN_TEXT_LIMIT, fit
from runner.task import CommandRecord, Conclusion, Usage

TITLES = {  # what every reader may be told, whether the pull request is a draft or not
    Conclusion.SUCCESS: "Pull request opened",
    Conclusion.NEUTRAL: "No change needed",
    Conclusion.FAILURE: "Session failed",
    Conclusion.TIMED_OUT: "Stopped at the time limit",
    Conclusion.CANCELLED: "Session cancelled",
}


@dataclass(frozen=True)
class Report:
    conclusion: Conclusion
    account: str  # the model's account of what changed and why
    changed_files: Sequence[str] = ()
    commits: Sequence[str] = ()  # "sha subject"
    usage: Usage = field(default_factory=Usage)
    duration_s: float = 0.0
    commands: Sequence[CommandRecord] = ()
    sandbox: str = ""
    stop_reason: str | None = None  # a limit reached, an error: what happened, for people
    pull_request_url: str | None = None
    draft: bool = False  # the pull request is a draft: say so, never "ready for review"
    paused_until: datetime | None = None  # the model's quota ran out; the session resumes then


def conclusion_title(report: Report) -> str:
    """The check run's title and the summary's headline."""
    if report.paused_until is not None:
        return f"Paused until {report.paused_until:%Y-%m-%d %H:%M:%S} UTC (model quota)"
    if report.conclusion is Conclusion.SUCCESS:
        return "Draft pull request opened" if report.draft else "Pull request ready for review"
    return TITLES[report.conclusion]


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _code(text: str) -> str:
    return "`" + text.replace("`", "ˋ").replace("\n", " ⏎ ")[:200] + "`"


def command_table(commands: Sequence[CommandRecord]) -> str:
    if not commands:
        return "_No commands were run._"
    rows = ["| command | result |", "| --- | --- |"]
    for record in commands:
        if record.refused_reason is not None:
            result = "refused: " + record.refused_reason.replace("|", "\\|").replace("\n", " ")
        elif record.timed_out:
            result = "timed out"
        else:
            result = f"exit {record.exit_code}"
        shown = _code(record.command).replace("|", "\\|")
        rows.append(f"| {shown} | {result[:300]} |")
    return "\n".join(rows)


def build_summary(report: Report) -> str:
    usage = report.usage
    lines = [f"**{conclusion_title(report)}**"]
    if report.stop_reason:
        lines += ["", f"> {report.stop_reason}"]
    if report.pull_request_url:
        lines += ["", f"Pull request: {report.pull_request_url}"]
    lines += [
        "",
        "| turns | tokens (in / out) | cost | duration |",
        "| --- | --- | --- | --- |",
        f"| {usage.turns} | {usage.input_tokens:,} / {usage.output_tokens:,} | "
        f"${usage.cost_usd:.4f} | {format_duration(report.duration_s)} |",
    ]
    if report.sandbox:
        lines += ["", f"Sandbox: {report.sandbox}"]
    return "\n".join(lines)


def build_text(report: Report) -> str:
    files = "\n".join(f"- `{name}`" for name in report.changed_files) or "_None._"
    commits = "\n".join(f"- {line}" for line in report.commits) or "_None._"
    account = report.account.strip() or "_The model gave no account._"
    text = "\n".join(
        [
            "## What changed and why",
            account,
            "",
            "## Files",
            files,
            "",
            "## Commits",
            commits,
            "",
            "## Commands",
            command_table(report.commands),
        ]
    )
    return fit(text, CHECK_RUN_TEXT_LIMIT)


def build_progress_text(lines: Sequence[str], limit: int = CHECK_RUN_TEXT_LIMIT) -> str:
    """The newest progress lines that fit, oldest dropped first."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line) + 1
        if size > limit - 100:
            kept.append("…(earlier progress omitted)")
            break
        kept.append(line)
    return "\n".join(reversed(kept))
