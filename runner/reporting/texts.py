"""The issue status comment and the pull request body."""

from __future__ import annotations

from runner.reporting.limits import COMMENT_LIMIT, fit
from runner.reporting.markers import pull_request_marker, status_comment_marker
from runner.reporting.summary import Report, conclusion_title, format_duration
from runner.task import Conclusion

STATE_WORDS = {
    "queued": "⏳ queued",
    "running": "🔄 working on it",
    Conclusion.SUCCESS: "✅ done",
    Conclusion.NEUTRAL: "➖ no change needed",
    Conclusion.FAILURE: "❌ failed",
    Conclusion.TIMED_OUT: "⏱️ stopped at the time limit",
    Conclusion.CANCELLED: "⏹️ cancelled",
}


def build_status_comment(
    issue_number: int,
    state: str,
    *,
    check_run_url: str | None = None,
    pull_request_url: str | None = None,
    detail: str | None = None,
) -> str:
    lines = [
        status_comment_marker(issue_number),
        f"**autocoder**: {STATE_WORDS.get(state, state)}",
    ]
    if detail:
        lines += ["", detail]
    links = []
    if pull_request_url:
        links.append(f"pull request: {pull_request_url}")
    if check_run_url:
        links.append(f"check run: {check_run_url}")
    if links:
        lines += ["", " · ".join(links)]
    return fit("\n".join(lines), COMMENT_LIMIT)


def build_pull_request_title(issue_title: str, issue_number: int) -> str:
    title = " ".join(issue_title.split())[:200] or f"Issue #{issue_number}"
    return f"{title} (#{issue_number})"


def _state_line(report: Report) -> str:
    if report.conclusion is Conclusion.SUCCESS and report.draft:
        return "Draft pull request: mark it ready for review once it looks right."
    return f"{conclusion_title(report)}."


def build_pull_request_body(issue_number: int, triggered_by: str, report: Report) -> str:
    files = "\n".join(f"- `{name}`" for name in report.changed_files) or "_None._"
    usage = report.usage
    body = "\n".join(
        [
            f"Closes #{issue_number}",
            "",
            f"Opened by autocoder for @{triggered_by}. {_state_line(report)}",
            "",
            "## What changed and why",
            report.account.strip() or "_The model gave no account._",
            "",
            "## Files",
            files,
            "",
            f"<sub>{usage.turns} turns · {usage.input_tokens + usage.output_tokens:,} tokens · "
            f"${usage.cost_usd:.4f} · {format_duration(report.duration_s)}</sub>",
            "",
            pull_request_marker(issue_number),
        ]
    )
    marker = pull_request_marker(issue_number)
    if len(body) > COMMENT_LIMIT:
        body = fit(body[: COMMENT_LIMIT - len(marker) - 200], COMMENT_LIMIT - 200) + "\n" + marker
    return body
