"""What one Action step did, and everything it reports from that: the job summary (markdown,
under GitHub's 1 MiB per step), the step outputs, the `::error::` annotation and the exit code.
Pure functions over plain data."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from runner.reporting.summary import TITLES, command_table, format_duration
from runner.task import Conclusion, SessionResult

SUMMARY_LIMIT_BYTES = 1_000_000  # GitHub refuses a step summary over 1 MiB
ACCOUNT_LIMIT = 60_000
OUTPUT_KEYS = (
    "pr_url",
    "branch",
    "conclusion",
    "session_id",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "turns",
)
SKIPPED = "skipped"
RETRY_HINT = "comment `/autocoder retry` on the issue to run it again"

ICONS = {
    Conclusion.SUCCESS: "✅",
    Conclusion.NEUTRAL: "➖",
    Conclusion.FAILURE: "❌",
    Conclusion.TIMED_OUT: "⏱️",
    Conclusion.CANCELLED: "⏹️",
}
ENDINGS = {
    Conclusion.FAILURE: "failed",
    Conclusion.TIMED_OUT: "stopped at its time limit",
    Conclusion.CANCELLED: "was cancelled",
}


class Status(enum.StrEnum):
    RAN = "ran"  # a session ran (its conclusion says how it went)
    SKIPPED = "skipped"  # the event asked for nothing this Action does
    FAILED = "failed"  # autocoder could not run (setup, GitHub, workspace)


@dataclass(frozen=True)
class ActionOutcome:
    status: Status
    reason: str  # why nothing ran, what went wrong, or what the session was for
    event: str = ""  # e.g. "issues.labeled"
    repository: str | None = None
    issue_number: int | None = None
    advice: str | None = None  # what to do about a failure
    result: SessionResult | None = None
    progress: Sequence[str] = field(default_factory=tuple)
    run_url: str | None = None

    @property
    def conclusion(self) -> str:
        if self.result is not None:
            return self.result.conclusion.value
        return SKIPPED if self.status is Status.SKIPPED else Conclusion.FAILURE.value

    @property
    def ok(self) -> bool:
        return self.conclusion in (SKIPPED, Conclusion.SUCCESS.value, Conclusion.NEUTRAL.value)


def exit_code(outcome: ActionOutcome) -> int:
    """0 for success, neutral and nothing to do; 1 otherwise."""
    return 0 if outcome.ok else 1


def build_outputs(outcome: ActionOutcome) -> dict[str, str]:
    """The step outputs `action.yml` declares; every key is always set (empty when unknown)."""
    result = outcome.result
    return {
        "pr_url": (result.pull_request_url or "") if result else "",
        "branch": (result.branch or "") if result else "",
        "conclusion": outcome.conclusion,
        "session_id": result.session_id if result else "",
        "cost_usd": f"{result.usage.cost_usd:.4f}" if result else "",
        "input_tokens": str(result.usage.input_tokens) if result else "",
        "output_tokens": str(result.usage.output_tokens) if result else "",
        "turns": str(result.usage.turns) if result else "",
    }


def session_advice(result: SessionResult) -> str | None:
    """What a person can do about a session that did not succeed."""
    branch = f" The work so far is on branch `{result.branch}`." if result.branch else ""
    if result.conclusion is Conclusion.FAILURE and result.error:
        return (
            "Check the engine inputs (engine, model, base_url and api_key; or anthropic_api_key / "
            "claude_code_oauth_token) and that the model endpoint is reachable from the runner, "
            f"then {RETRY_HINT}.{branch}"
        )
    if result.limit is not None and result.conclusion is Conclusion.FAILURE:
        return (
            f"The session stopped: {result.limit}. If the task needs more, raise the limit "
            f"(max_turns, max_cost_usd, AUTOCODER_MAX_TOKENS) or split the issue; then "
            f"{RETRY_HINT}.{branch}"
        )
    if result.conclusion is Conclusion.FAILURE:
        return (
            "The check run says what stopped it (a limit or a model error). If the task needs "
            f"more, raise max_turns or max_cost_usd, or split the issue; then {RETRY_HINT}."
            f"{branch}"
        )
    if result.conclusion is Conclusion.TIMED_OUT:
        return (
            "Raise timeout_minutes (and the job's timeout-minutes), or split the issue; then "
            f"{RETRY_HINT}.{branch}"
        )
    if result.conclusion is Conclusion.CANCELLED:
        return f"The session was stopped before it finished; {RETRY_HINT}.{branch}"
    return None


def error_message(outcome: ActionOutcome) -> str | None:
    """The `::error::` annotation text: what went wrong and what to do (None when all is well)."""
    if outcome.ok:
        return None
    what = outcome.reason
    result = outcome.result
    if result is not None:
        what = f"the session {ENDINGS.get(result.conclusion, result.conclusion.value)}"
        if result.error:
            what += f": {result.error}"
        if result.check_run_url:
            what += f" (check run: {result.check_run_url})"
    target = f" for {outcome.repository}#{outcome.issue_number}" if outcome.issue_number else ""
    text = f"autocoder{target}: {what}"
    if outcome.advice:
        text += f"\nWhat to do: {outcome.advice}"
    return text


BUBBLEWRAP_HOWTO = (
    "on GitHub's Ubuntu runners this Action installs it itself (`sudo apt-get install -y "
    "bubblewrap`); on a self-hosted runner, install the `bubblewrap` package, and where user "
    "namespaces are restricted (Ubuntu 24.04: "
    "`sysctl kernel.apparmor_restrict_unprivileged_userns`) allow them for `bwrap`"
)


def sandbox_annotation(outcome: ActionOutcome) -> tuple[str, str] | None:
    """(level, text) of the annotation saying that commands ran unconfined (a warning) or could
    not run at all for want of a sandbox (an error, with how to install bubblewrap)."""
    notice = outcome.result.sandbox_notice if outcome.result is not None else None
    if not notice:
        return None
    if notice.startswith("commands unavailable"):
        return "error", f"{notice}. To give the model commands: {BUBBLEWRAP_HOWTO}."
    return "warning", notice


def _fence(text: str) -> str:
    """`text` in a code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def _headline(outcome: ActionOutcome) -> str:
    target = f"{outcome.repository}#{outcome.issue_number}" if outcome.issue_number else ""
    if outcome.status is Status.SKIPPED:
        return f"➖ Nothing to do{' for ' + target if target else ''}"
    if outcome.result is None:
        return f"❌ autocoder could not run{' for ' + target if target else ''}"
    conclusion = outcome.result.conclusion
    return f"{ICONS[conclusion]} {TITLES[conclusion]}{' — ' + target if target else ''}"


def _session_lines(result: SessionResult) -> list[str]:
    usage = result.usage
    rows = [
        ("conclusion", f"`{result.conclusion.value}`"),
        ("pull request", result.pull_request_url or "—"),
        ("branch", f"`{result.branch}`" if result.branch else "—"),
        ("check run", result.check_run_url or "—"),
        ("session", f"`{result.session_id}`"),
        (
            "usage",
            f"{usage.turns} turns · {usage.input_tokens + usage.output_tokens:,} tokens · "
            f"${usage.cost_usd:.4f} · {format_duration(result.duration_s)}",
        ),
    ]
    lines = ["| | |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)]
    if result.sandbox_notice:
        lines += ["", f"> ⚠️ {result.sandbox_notice}"]
    if result.error:
        lines += ["", f"> {result.error}"]
    if result.summary.strip():
        account = result.summary.strip()
        if len(account) > ACCOUNT_LIMIT:
            account = account[:ACCOUNT_LIMIT] + "\n\n…(cut)"
        lines += ["", "### What the session did", "", account]
    if result.changed_files:
        lines += ["", "### Files", "", *(f"- `{name}`" for name in result.changed_files)]
    if result.commands:
        lines += ["", "### Commands", "", command_table(result.commands)]
    return lines


def build_job_summary(outcome: ActionOutcome, *, limit: int = SUMMARY_LIMIT_BYTES) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY`, at most `limit` bytes (UTF-8): the progress log is
    shortened (its last lines kept) to fit, then anything else is cut."""
    lines = ["## autocoder", "", f"**{_headline(outcome)}**", ""]
    if outcome.result is None:
        label = "Why" if outcome.status is Status.SKIPPED else "What went wrong"
        lines += [f"{label}: {outcome.reason}"]
    else:
        lines += [outcome.reason]
    if outcome.advice:
        lines += ["", f"**What to do:** {outcome.advice}"]
    if outcome.event:
        lines += ["", f"<sub>event: `{outcome.event}`</sub>"]
    if outcome.result is not None:
        lines += ["", *_session_lines(outcome.result)]
    head = "\n".join(lines) + "\n"
    room = limit - len(head.encode()) - 200
    progress = list(outcome.progress)
    if progress and room > 0:
        shown = _fit_tail(progress, room)
        dropped = len(progress) - len(shown)
        note = f"\n\n({dropped} earlier lines left out)" if dropped else ""
        head += (
            f"\n<details><summary>Progress ({len(progress)} lines)</summary>\n\n"
            f"{_fence(chr(10).join(shown))}{note}\n\n</details>\n"
        )
    return _cut_bytes(head, limit)


def _fit_tail(lines: list[str], room: int) -> list[str]:
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        cost = len(line.encode()) + 1
        if size + cost > room:
            break
        kept.append(line)
        size += cost
    kept.reverse()
    return kept


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    note = "\n\n…(cut to fit GitHub's 1 MiB step summary limit)\n"
    return data[: limit - len(note.encode())].decode(errors="ignore") + note
