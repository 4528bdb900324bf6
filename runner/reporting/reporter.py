"""Reports one session on GitHub and to the terminal.

The check run named `autocoder` follows the branch head: it is created `in_progress` on the head
the session starts from; when the session ends on a head its pushes moved, the final check run is
created on that head already completed (one request) and the first one is closed as `neutral`
with a pointer, so exactly one is ever open and the final conclusion sits on the pull request's
head commit. Progress updates are throttled (at most one per interval) and skipped when their
text did not change; the one status comment on the issue is edited in place, and only when its
text changed. Every request it leaves out is one GitHub never has to answer (issue #11).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from runner.engines.base import (
    AssistantText,
    CommandRan,
    EngineEvent,
    Retrying,
    ToolOutcome,
    ToolUse,
)
from runner.github.errors import GitHubAuthError
from runner.github.types import CheckRunAction, CheckRunInfo
from runner.reporting.markers import status_comment_marker
from runner.reporting.summary import (
    Report,
    build_progress_text,
    build_summary,
    build_text,
    conclusion_title,
)
from runner.reporting.texts import build_status_comment
from runner.reporting.throttle import Throttle
from runner.task import Conclusion

if TYPE_CHECKING:
    from runner.github.client import GitHubClient

log = logging.getLogger(__name__)

CHECK_RUN_NAME = "autocoder"
ACTIONS_RUNNING = (CheckRunAction("Stop", "Stop this session", "stop"),)
ACTIONS_DONE = (CheckRunAction("Retry", "Run the session again", "retry"),)
# A session that ended unfinished (a limit, an error, a stop, a pause) can also go on from where
# it stopped, its conversation included (issue #14).
ACTIONS_UNFINISHED = (
    CheckRunAction("Continue", "Continue where it stopped", "continue"),
    *ACTIONS_DONE,
)


class CheckRunObserver(Protocol):
    """Told of each check run a session opens and each it concludes (the App records on the job
    which one is open, so that if the session dies the next worker knows which to close)."""

    def opened(self, run: CheckRunInfo) -> None: ...

    def concluded(self, check_run_id: int) -> None: ...


def describe_event(event: EngineEvent) -> str | None:
    """One progress line for an engine event (None: not worth a line)."""
    match event:
        case AssistantText(text=text):
            first = text.strip().splitlines()[0] if text.strip() else ""
            return f"💬 {first[:200]}" if first else None
        case ToolUse(name=name, summary=summary):
            return f"🔧 {name} {summary[:200]}"
        case ToolOutcome(name=name, ok=ok, summary=summary):
            return None if ok else f"⛔ {name}: {summary[:300]}"
        case CommandRan(record=record):
            if record.refused_reason is not None:
                return None  # already shown by the ToolOutcome
            return f"   exit {record.exit_code}" + (" (timed out)" if record.timed_out else "")
        case Retrying(reason=reason, wait_s=wait_s):
            return f"⏳ model endpoint: {reason}; retrying in {wait_s:.0f}s"
    return None


@dataclass
class SessionReporter:
    github: GitHubClient
    repository: str
    issue_number: int
    echo: Callable[[str], None] = lambda line: None
    throttle: Throttle = field(default_factory=Throttle)
    check_run_id: int | None = None
    check_run_url: str | None = None
    head_sha: str | None = None
    comment_id: int | None = None
    pull_request_url: str | None = None
    lines: list[str] = field(default_factory=list)
    check_runs_unavailable: bool = False
    observer: CheckRunObserver | None = None
    details_url: str | None = None  # every check run's Details link (the dashboard's page)
    # Said in every report (check run summary, status comment) when commands run unconfined or
    # not at all (no working sandbox); None when they run under bubblewrap.
    sandbox_notice: str | None = None
    spend: str | None = None  # live spend (`set_spend`), shown in every progress update
    _dirty: bool = False
    _pending_head: str | None = None  # pushed to, its check run not created yet (see finish)
    _sent_progress: str | None = None  # the progress text the open check run shows
    _sent_comment: str | None = None  # the status comment's body as last sent

    def set_sandbox_notice(self, notice: str | None) -> None:
        self.sandbox_notice = notice
        self._dirty = True

    def set_spend(self, line: str) -> None:
        if line != self.spend:
            self.spend = line
            self._dirty = True

    def _with_notice(self, text: str | None) -> str | None:
        if self.sandbox_notice is None:
            return text
        warning = f"⚠️ {self.sandbox_notice}"
        return f"{text}\n\n{warning}" if text else warning

    # -- the issue ---------------------------------------------------------------------------
    def acknowledge(self) -> None:
        """👀 on the issue: somebody is on it."""
        self._quietly(lambda: self.github.add_issue_reaction(self.repository, self.issue_number))

    def comment(self, state: str, detail: str | None = None) -> None:
        body = build_status_comment(
            self.issue_number,
            state,
            check_run_url=self.check_run_url,
            pull_request_url=self.pull_request_url,
            detail=self._with_notice(detail),
        )
        if self.comment_id is None:
            marker = status_comment_marker(self.issue_number)
            existing = self.github.find_issue_comment(self.repository, self.issue_number, marker)
            if existing is not None:
                self.comment_id = existing.id
        if self.comment_id is None:
            created = self.github.create_issue_comment(self.repository, self.issue_number, body)
            self.comment_id = created.id
        elif body != self._sent_comment:
            self.github.edit_issue_comment(self.repository, self.comment_id, body)
        self._sent_comment = body

    # -- the check run -----------------------------------------------------------------------
    def start(self, head_sha: str, title: str = "Working on it") -> None:
        if self.check_runs_unavailable:
            self.head_sha = head_sha
            return
        try:
            run = self._create_check_run(head_sha, title)
        except GitHubAuthError as error:
            if error.status != 403:
                raise
            # Only GitHub Apps may create check runs (a personal token gets 403 "You must
            # authenticate via a GitHub App"): report in the issue comment and terminal only.
            self.check_runs_unavailable = True
            self.head_sha = head_sha
            self.say(f"⚠️ no check run: {error} — progress is reported in the issue comment")
            return
        self.check_run_id, self.check_run_url, self.head_sha = run.id, run.html_url, head_sha
        self._sent_progress = None
        self.throttle.force()
        if self.observer is not None:
            observer = self.observer
            self._quietly(lambda: observer.opened(run), "record the check run")

    def _create_check_run(self, head_sha: str, title: str) -> CheckRunInfo:
        return self.github.create_check_run(
            self.repository,
            name=CHECK_RUN_NAME,
            head_sha=head_sha,
            status="in_progress",
            title=title,
            summary=f"autocoder is working on #{self.issue_number}.",
            actions=ACTIONS_RUNNING,
            details_url=self.details_url,
            # Names the issue (the App maps Retry/Stop back to it) and is unique per create,
            # which makes the create safe to retry.
            external_id=f"autocoder:issue-{self.issue_number}:{uuid.uuid4().hex[:12]}",
        )

    def moved_to(self, head_sha: str) -> None:
        """The branch head moved (a push). The check run on the new head is created when the
        session ends (`finish`), already completed: until then the open one keeps reporting."""
        self._pending_head = None if head_sha == self.head_sha else head_sha
        self.flush()

    def event(self, event: EngineEvent) -> None:
        line = describe_event(event)
        if line is not None:
            self.say(line)

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.echo(line)
        self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        """Send progress to the check run if due (at most one update per throttle interval)."""
        if self.check_run_id is None or not self._dirty:
            return
        if force:
            self.throttle.force()
        elif not self.throttle.ready():
            return
        self._dirty = False
        text = build_progress_text(self.lines)
        # (the summary shows the spend; in the key, a changed spend is worth an update)
        text_key = f"{self.spend}\n{text}" if self.spend else text
        if text_key == self._sent_progress:
            return
        self._sent_progress = text_key
        self._quietly(
            lambda: self.github.update_check_run(
                self.repository,
                self.check_run_id or 0,
                title="Working on it",
                summary=self._with_notice(
                    f"autocoder is working on #{self.issue_number}."
                    + (f"\n\n{self.spend}" if self.spend else "")
                ),
                text=text,
            )
        )

    def finish(self, report: Report) -> None:
        final: dict[str, Any] = {
            "conclusion": report.conclusion.value,
            "title": conclusion_title(report),
            "summary": self._with_notice(build_summary(report)) or "",
            "text": build_text(report),
            "actions": ACTIONS_DONE if _finished(report) else ACTIONS_UNFINISHED,
        }
        head = self._pending_head
        if head is not None and not self.check_runs_unavailable:
            self._pending_head = None
            previous = self.check_run_id
            self._finish_on_new_head(head, final)
            if previous is not None:
                self.github.update_check_run(
                    self.repository,
                    previous,
                    status="completed",
                    conclusion="neutral",
                    title=f"Continued on {head[:7]}",
                    summary=f"This session pushed {head[:7]}; its check run continues there.",
                    actions=(),
                )
                self._concluded(previous)
        elif self.check_run_id is not None:
            self.github.update_check_run(
                self.repository, self.check_run_id, status="completed", **final
            )
            self._concluded(self.check_run_id)
        detail = report.stop_reason
        if report.conclusion is Conclusion.NEUTRAL and report.account.strip():
            detail = (detail + "\n\n" if detail else "") + report.account.strip()[:2000]
        self.comment(report.conclusion, detail)

    def _finish_on_new_head(self, head_sha: str, final: dict[str, Any]) -> None:
        """The concluded check run on the head the session ended on, in one request."""
        run = self.github.create_check_run(
            self.repository,
            name=CHECK_RUN_NAME,
            head_sha=head_sha,
            status="completed",
            details_url=self.details_url,
            external_id=f"autocoder:issue-{self.issue_number}:{uuid.uuid4().hex[:12]}",
            **final,
        )
        self.check_run_id, self.check_run_url, self.head_sha = run.id, run.html_url, head_sha
        if self.observer is not None:
            observer = self.observer
            self._quietly(lambda: observer.opened(run), "record the check run")
        self._concluded(run.id)

    def _concluded(self, check_run_id: int) -> None:
        if self.observer is not None:
            observer = self.observer
            self._quietly(lambda: observer.concluded(check_run_id), "record the check run")

    def _quietly(self, call: Callable[[], object], what: str = "report progress to GitHub") -> None:
        """Progress reports and their bookkeeping must not end a session: log and go on."""
        try:
            call()
        except Exception as error:
            log.warning("could not %s: %s", what, error)


def _finished(report: Report) -> bool:
    done = (Conclusion.SUCCESS, Conclusion.NEUTRAL)
    return report.conclusion in done and report.paused_until is None
