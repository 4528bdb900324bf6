"""`autocoder action`: one GitHub Actions step, start to end.

    mask secrets → read the run (event, repository, settings) → decide (as the App does)
    → check the actor's permission → load the task → run the session in this job
    → job summary, step outputs, `::error::` on failure → exit code

It is the I/O edge: everything it decides or writes is built by the pure modules next to it
(`runner.decide`, `action.outcome`, `action.workflow_commands`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from action.allowlist import with_allowed_commands
from action.context import ActionSetupError, read_context
from action.outcome import (
    ActionOutcome,
    Status,
    build_job_summary,
    build_outputs,
    error_message,
    exit_code,
    sandbox_annotation,
    session_advice,
)
from action.settings import ActionSettings, bot_login, load_runner_settings
from action.workflow_commands import (
    annotation,
    in_github_actions,
    mask_commands,
    neutralize,
    output_entries,
    plain_annotation,
)
from autocoder.commands.errors import settings_error_message
from runner.bootstrap import (
    SetupError,
    github_credentials,
    load_task,
    make_engine,
    run_until_stopped,
    session_deps,
)
from runner.decide import Action, Decision, Rules, authorize, decide
from runner.github.client import GitHubClient
from runner.github.errors import GitHubAuthError, GitHubError, GitHubNotFoundError
from runner.preflight import preflight
from runner.repo_config import RepoConfigError
from runner.settings import RunnerSettings
from runner.task import Task
from runner.work_order import WorkKind
from runner.workspace import WorkspaceError

log = logging.getLogger(__name__)

# Variables that hold secrets when set (each input that takes a secret maps onto one).
SECRET_VARIABLES = (
    "GITHUB_TOKEN",
    "AUTOCODER_GITHUB_TOKEN",
    "AUTOCODER_GITHUB_PRIVATE_KEY",
    "AUTOCODER_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
)

_NOT_IN_THE_ACTION = {
    Action.CANCEL: (
        "the Action does not stop a session that is already running in another workflow run; "
        "cancel that run in the Actions tab"
    ),
    Action.STATUS: "the issue's status comment and the `autocoder` check run show its status",
}


@dataclass
class Console:
    """The step's log (stdout, where the runner also reads workflow commands). Secrets are
    masked before anything else is written; untrusted lines are defused.

    Workflow commands are written only inside GitHub Actions (`in_actions`): anywhere else an
    `::add-mask::` line would print the secret itself, so there secrets are only redacted from
    what is written, and annotations become plain lines."""

    write: Callable[[str], None]
    masked: set[str] = field(default_factory=set)
    in_actions: bool = False

    def mask(self, values: Iterable[str | None]) -> None:
        fresh = [v for v in values if v and v not in self.masked]
        if self.in_actions:
            for line in mask_commands(fresh):
                self.write(line)
        self.masked.update(fresh)

    def redact(self, text: str) -> str:
        """`text` without any masked value (for files the runner does not mask)."""
        for value in sorted(self.masked, key=len, reverse=True):
            for part in {value, *value.splitlines()}:
                if len(part.strip()) >= 8:
                    text = text.replace(part.strip(), "***")
        return text

    def line(self, text: str) -> None:
        self.write(neutralize(self.redact(text)))

    def annotate(self, level: str, message: str, *, title: str | None = None) -> None:
        """An annotation on the run inside Actions; a plain (redacted) line elsewhere."""
        message = self.redact(message)
        if self.in_actions:
            self.write(annotation(level, message, title=title))
        else:
            self.write(neutralize(plain_annotation(level, message, title=title)))


def _print(text: str) -> None:
    print(text, flush=True)


def run_action(environ: Mapping[str, str], write: Callable[[str], None] = _print) -> int:
    """Run the step; return its exit code. `environ` must be the process environment (the
    runner's settings are read from it)."""
    console = Console(write, in_actions=in_github_actions(environ))
    console.mask(environ.get(name) for name in SECRET_VARIABLES)
    progress: list[str] = []
    try:
        outcome = _run(environ, console, progress)
    except Exception as error:  # a bug: still tell the person, in the log and the summary
        log.exception("autocoder action failed unexpectedly")
        outcome = ActionOutcome(
            Status.FAILED,
            f"unexpected error {type(error).__name__}: {error}",
            advice="this is a bug in autocoder; please report it with this job's log",
            progress=progress,
        )
    _report(outcome, environ, console)
    return exit_code(outcome)


def _run(environ: Mapping[str, str], console: Console, progress: list[str]) -> ActionOutcome:
    try:
        context = read_context(environ)
    except ActionSetupError as error:
        return ActionOutcome(Status.FAILED, str(error))
    event = f"{context.event_name}.{context.payload.get('action') or ''}".rstrip(".")
    base = ActionOutcome(
        Status.FAILED, "", event=event, repository=context.repository, run_url=context.run_url
    )
    try:
        options = ActionSettings()
        settings = load_runner_settings(environ, context)
        extra_commands = options.extra_allowed_commands()
        console.mask([settings.private_key_pem() or ""])
    except ValidationError as error:
        return replace(base, reason=settings_error_message(error))
    except (RepoConfigError, OSError) as error:
        return replace(base, reason=str(error))

    rules = Rules(trigger_label=options.trigger_label, bot_login=bot_login(options, settings))
    decision = decide(context.event_name, context.payload, rules)
    decision = replace(
        decision,
        repository=decision.repository or context.repository,
        actor=decision.actor or context.actor,
    )
    base = replace(base, repository=decision.repository, issue_number=decision.issue_number)
    console.line(f"autocoder: {event}: {decision.reason}")
    if not decision.runs_session:
        return _skipped(base, decision)

    def echo(line: str) -> None:
        progress.append(line)
        console.line(line)

    repository = decision.repository or context.repository
    try:
        credentials = github_credentials(settings, repository)
        console.mask(credentials.secrets())
        preflight(settings, environ)  # before any request to GitHub: the model is ready
        with GitHubClient(
            credentials, seconds_between_writes=options.github_write_interval_s
        ) as github:
            if decision.needs_write:
                permission = github.get_permission(repository, decision.actor or "")
                decision = authorize(decision, permission)
                if decision.action is Action.REFUSE:
                    console.line(f"autocoder: {decision.reason}")
                    return _skipped(base, decision)
            task = _load_task(github, decision, settings, rules)
            base = replace(base, issue_number=task.issue_number)
            engine = with_allowed_commands(make_engine(settings), extra_commands)
            deps = session_deps(settings, github, credentials, engine, echo=echo)
            deps.git_token = _masking(deps.git_token, console)
            deps.resume_notes = True  # no database: a killed run's conversation is on the branch
            result = asyncio.run(run_until_stopped(task, deps, echo))
    except (SetupError, GitHubError, WorkspaceError, RepoConfigError, ValueError) as error:
        return replace(
            base, reason=console.redact(str(error)), advice=_advice(error), progress=progress
        )
    return replace(
        base,
        status=Status.RAN,
        reason=decision.reason,
        result=result,
        advice=session_advice(result),
        progress=progress,
    )


def _skipped(base: ActionOutcome, decision: Decision) -> ActionOutcome:
    reason = decision.reason
    if decision.action in _NOT_IN_THE_ACTION:
        reason = f"{reason}; {_NOT_IN_THE_ACTION[decision.action]}"
    return replace(base, status=Status.SKIPPED, reason=reason)


def _load_task(
    github: GitHubClient, decision: Decision, settings: RunnerSettings, rules: Rules
) -> Task:
    if decision.issue_number is None:
        raise ValueError(f"the event names no issue ({decision.reason})")
    follow_up = decision.action is Action.FOLLOW_UP and decision.pull_number is not None
    return load_task(
        github,
        kind=WorkKind.FOLLOW_UP if follow_up else WorkKind.START,
        repository=decision.repository or "",
        issue_number=decision.issue_number,
        pull_number=decision.pull_number,
        review_id=decision.review_id,
        actor=decision.actor or "",
        limits=settings.limits(),
        bot_login=rules.bot_login,
    )


def _masking(token: Callable[[], str | None], console: Console) -> Callable[[], str | None]:
    """`token`, masking each new token (App installation tokens are minted as needed)."""

    def masked() -> str | None:
        value = token()
        console.mask([value])
        return value

    return masked


def _advice(error: Exception) -> str:
    if isinstance(error, SetupError):
        return (
            "set or fix what the message names, then re-run the job; in the workflow these "
            "are the action's inputs (base_url, api_key, anthropic_api_key, "
            "claude_code_oauth_token) or the step's env"
        )
    if isinstance(error, RepoConfigError):
        return "set or fix what the message names, then re-run the job"
    if isinstance(error, GitHubAuthError):
        return (
            "check the github_token input and the workflow's `permissions:` (contents, "
            "pull-requests, issues and checks: write); with app_id and app_private_key, check "
            "that the App is installed on this repository with those permissions"
        )
    if isinstance(error, GitHubNotFoundError):
        return (
            "check that the token (or the App installation) can see this repository, and "
            "GITHUB_API_URL / AUTOCODER_GITHUB_API_URL"
        )
    if isinstance(error, GitHubError):
        return (
            "GitHub answered with an error; re-run the job, and if it persists check "
            "https://www.githubstatus.com"
        )
    if isinstance(error, WorkspaceError):
        return (
            "git could not fetch or push the repository: check that the token may push "
            "(`contents: write`) and that the branch is not protected against it"
        )
    return "fix what the message names, then re-run the job"


def _report(outcome: ActionOutcome, environ: Mapping[str, str], console: Console) -> None:
    message = error_message(outcome)
    if message is not None:
        console.annotate("error", message, title="autocoder")
    sandbox = sandbox_annotation(outcome)
    if sandbox is not None:
        console.annotate(sandbox[0], sandbox[1], title="autocoder sandbox")
    outputs = build_outputs(outcome)
    console.line(f"conclusion: {outputs['conclusion']}")
    if outputs["pr_url"]:
        console.line(f"pull request: {outputs['pr_url']}")
    if outcome.status is Status.SKIPPED:
        console.line(f"nothing to do: {outcome.reason}")
    if not console.in_actions:  # the job summary and step outputs are files of an Actions job
        return
    _append(environ.get("GITHUB_STEP_SUMMARY"), console.redact(build_job_summary(outcome)))
    _append(
        environ.get("GITHUB_OUTPUT"),
        output_entries({name: console.redact(value) for name, value in outputs.items()}),
    )


def _append(path: str | None, text: str) -> None:
    if not path or not path.strip():
        return
    try:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        print(f"autocoder: cannot write {path}: {error.strerror}", file=sys.stderr)


__all__ = ["Console", "run_action"]
