"""What to do about a GitHub event: a pure function shared by the App and the Action.

`decide(event_name, payload, rules)` maps a webhook (or an Actions event payload, which has the
same shape) to a `Decision`. It does no I/O: whether the actor may write to the repository is
looked up by the caller and applied with `authorize`, also pure.

Its length is one rule table: a small pure function per event type, all read together to see
what autocoder does about each event, so they stay in one module.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.reporting.markers import issue_of_pull_request
from runner.untrusted import strip_hidden_text
from runner.work_order import WorkKind

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
SPEC_LABEL = "autocoder:spec"  # the issue is an application spec: run the initializer
AUTO_LABEL = "autocoder:auto"  # run the spec's features one after another
PAUSED_LABEL = "autocoder:paused"  # stop the sequence after the current session
CHECK_RUN_NAME = "autocoder"


class Action(enum.StrEnum):
    START = "start"  # run a session for an issue
    CANCEL = "cancel"  # stop a queued or running session for an issue
    FOLLOW_UP = "follow_up"  # a session on autocoder's PR branch, for a review
    RETRY = "retry"  # run the issue's session again
    CONTINUE = "continue"  # run it again, continuing the last session's conversation (#14)
    TELL = "tell"  # a message for the issue's running session (#14)
    INITIALIZE = "initialize"  # a spec issue: the initializer session (features, skeleton)
    SEQUENCE = "sequence"  # run a spec's features one after another (issue #13)
    PAUSE = "pause"  # stop a spec's sequence after the current session
    RESUME = "resume"  # go on with a paused sequence
    MERGED = "merged"  # autocoder's pull request for a feature was merged (issue #13)
    STATUS = "status"  # answer with the issue's status
    HELP = "help"  # an `/autocoder` command it does not know: answer with the list, run nothing
    MIRROR = "mirror"  # keep the issue mirror current, nothing to run
    INSTALLATION = "installation"  # the registry of installations and repositories
    REFUSE = "refuse"  # a person without permission asked: say why, run nothing
    IGNORE = "ignore"


@dataclass(frozen=True)
class Rules:
    trigger_label: str = "autocoder"
    bot_login: str | None = None  # autocoder's own bot, e.g. "autocoder[bot]"
    app_id: int | None = None  # autocoder's App id, to recognise its own check runs
    command_prefix: str = "/autocoder"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    repository: str | None = None
    issue_number: int | None = None
    pull_number: int | None = None
    actor: str | None = None
    installation_id: int | None = None
    review_id: int | None = None
    comment_id: int | None = None
    needs_write: bool = False  # `actor` must have write access (check, then `authorize`)
    text: str | None = None  # TELL: the message for the running session
    mention: bool = False  # TELL: a mention of the app, not a command (`steer: mentions`)

    @property
    def runs_session(self) -> bool:
        return self.action in (
            Action.START,
            Action.FOLLOW_UP,
            Action.RETRY,
            Action.INITIALIZE,
            Action.CONTINUE,
        )

    @property
    def work_kind(self) -> WorkKind | None:
        if self.action is Action.CONTINUE:  # a retry whose order carries the conversation
            return WorkKind.RETRY
        """The kind of work it asks for (the job's kind), None when it runs no session. The
        values are the same words as the actions that run a session."""
        return WorkKind(self.action.value) if self.runs_session else None


_COMMAND = re.compile(r"^\s*(?P<prefix>/\S+)(?:\s+(?P<word>\w+))?", re.MULTILINE)
_COMMENT_COMMANDS = {
    "run": Action.START,
    "start": Action.START,
    "stop": Action.CANCEL,
    "cancel": Action.CANCEL,
    "retry": Action.RETRY,
    "continue": Action.CONTINUE,
    "tell": Action.TELL,
    "status": Action.STATUS,
    "help": Action.HELP,
    "pause": Action.PAUSE,
    "resume": Action.RESUME,
}


def commands_help(prefix: str = "/autocoder") -> str:
    """The commands a comment can give, for a reply to one autocoder did not understand."""
    return (
        f"Commands: `{prefix} run` (start), `{prefix} stop`, `{prefix} retry`, "
        f"`{prefix} continue`, `{prefix} tell <message>` (to the running session), "
        f"`{prefix} status`, `{prefix} help`."
    )


def _command_word(body: str, prefix: str) -> str | None:
    """The word of a comment's first `/autocoder <word>` line ("run" when bare); None when
    there is no such line."""
    for match in _COMMAND.finditer(body or ""):
        if match.group("prefix") == prefix:
            return (match.group("word") or "run").lower()
    return None


def parse_comment_command(body: str, prefix: str = "/autocoder") -> Action | None:
    """The command in a comment's first `/autocoder <word>` line; None when there is none.
    A bare `/autocoder` means run; an unknown word asks for help (a reply listing the
    commands, nothing else)."""
    word = _command_word(body, prefix)
    if word is None:
        return None
    return _COMMENT_COMMANDS.get(word, Action.HELP)


_TELL = re.compile(r"^\s*(?P<prefix>/\S+)\s+tell\b[ \t]*(?P<text>.*)", re.MULTILINE | re.DOTALL)


def tell_text(body: str, prefix: str = "/autocoder") -> str:
    """The message of a `/autocoder tell <message>` comment: the rest of its line and the
    lines after it, hidden text and invisible characters removed."""
    for match in _TELL.finditer(body or ""):
        if match.group("prefix") == prefix:
            return strip_hidden_text(match.group("text")).strip()
    return ""


def mentions(body: str, bot_login: str | None) -> bool:
    """Whether a comment mentions the app (`@slug`, the bot login without `[bot]`)."""
    if not bot_login:
        return False
    slug = re.escape(bot_login.removesuffix("[bot]"))
    return re.search(rf"(?<![\w@/])@{slug}(?:\[bot\])?(?![\w-])", body or "", re.I) is not None


def _login(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        login = obj.get("login")
        return login if isinstance(login, str) else None
    return None


def _is_bot(sender: Any, rules: Rules) -> bool:
    login = _login(sender)
    return bool(login and rules.bot_login and login.lower() == rules.bot_login.lower())


def decide(event: str, payload: Mapping[str, Any], rules: Rules) -> Decision:
    action_name = str(payload.get("action") or "")
    repo = payload.get("repository")
    repository = repo.get("full_name") if isinstance(repo, Mapping) else None
    installation = payload.get("installation")
    installation_id = installation.get("id") if isinstance(installation, Mapping) else None
    actor = _login(payload.get("sender"))
    base = Decision(
        Action.IGNORE,
        f"{event}.{action_name} is not something autocoder acts on",
        repository=repository,
        actor=actor,
        installation_id=installation_id if isinstance(installation_id, int) else None,
    )
    if event in ("installation", "installation_repositories"):
        return replace(base, action=Action.INSTALLATION, reason=f"{event}.{action_name}")
    if event == "ping":
        hook = payload.get("hook_id")
        return replace(
            base, reason=f"pong: the webhook{f' {hook}' if hook else ''} reaches autocoder"
        )
    if _is_bot(payload.get("sender"), rules):
        return replace(base, reason="sent by autocoder itself")
    handler = _HANDLERS.get(event)
    if handler is None:
        return base
    return handler(action_name, payload, rules, base)


def _issues(action: str, payload: Mapping[str, Any], rules: Rules, base: Decision) -> Decision:
    issue = payload.get("issue") or {}
    number = issue.get("number")
    base = replace(base, issue_number=number)
    if issue.get("pull_request"):
        return replace(base, reason="labels on pull requests do not start sessions")
    label = (payload.get("label") or {}).get("name")
    sequence = _sequence_label(action, label, base, number)
    if sequence is not None:
        return sequence
    if action == "labeled":
        if label != rules.trigger_label:
            return replace(base, reason=_not_the_trigger(label, rules))
        return replace(
            base,
            action=Action.START,
            reason=f"@{base.actor} labelled #{number} {label!r}",
            needs_write=True,
        )
    if action == "unlabeled":
        if label != rules.trigger_label:
            return replace(base, reason=_not_the_trigger(label, rules))
        return replace(base, action=Action.CANCEL, reason=f"@{base.actor} removed the label")
    if action == "closed":
        return replace(base, action=Action.CANCEL, reason=f"#{number} was closed")
    if action in ("opened", "edited", "reopened", "deleted", "assigned", "unassigned"):
        return replace(base, action=Action.MIRROR, reason=f"issue {action}")
    return base


_SEQUENCE_LABELS = {
    ("labeled", SPEC_LABEL): (Action.INITIALIZE, "labelled #{n} a spec"),
    ("labeled", AUTO_LABEL): (Action.SEQUENCE, "asked for #{n}'s features in sequence"),
    ("unlabeled", AUTO_LABEL): (Action.PAUSE, "removed {label} from #{n}"),
    ("labeled", PAUSED_LABEL): (Action.PAUSE, "labelled #{n} {label}"),
    ("unlabeled", PAUSED_LABEL): (Action.RESUME, "removed {label} from #{n}"),
}


def _sequence_label(action: str, label: object, base: Decision, number: object) -> Decision | None:
    """The spec labels (issue #13): initializer, sequence, pause, resume; all need write."""
    found = _SEQUENCE_LABELS.get((action, str(label)))
    if found is None:
        return None
    what, reason = found
    return replace(
        base,
        action=what,
        reason=f"@{base.actor} " + reason.format(n=number, label=label),
        needs_write=True,
    )


def _label_names(issue: Mapping[str, Any]) -> set[str]:
    labels = issue.get("labels") or []
    return {str(label.get("name")) for label in labels if isinstance(label, Mapping)}


def _not_the_trigger(label: object, rules: Rules) -> str:
    if not isinstance(label, str) or not label:
        return f"the event names no label (the trigger label is {rules.trigger_label!r})"
    return f"label {label!r} is not the trigger label {rules.trigger_label!r}"


def _issue_comment(
    action: str, payload: Mapping[str, Any], rules: Rules, base: Decision
) -> Decision:
    if action != "created":
        return base
    issue = payload.get("issue") or {}
    comment = payload.get("comment") or {}
    command = parse_comment_command(str(comment.get("body") or ""), rules.command_prefix)
    base = replace(base, issue_number=issue.get("number"), comment_id=comment.get("id"))
    body = str(comment.get("body") or "")
    if command is Action.TELL or (command is None and mentions(body, rules.bot_login)):
        return _tell(issue, body, command is None, rules, base)
    if command is None:
        return replace(base, action=Action.MIRROR, reason="a comment without a command")
    if command is Action.HELP:
        word = _command_word(str(comment.get("body") or ""), rules.command_prefix)
        shown = (word or "")[:40]
        asked = "" if word == "help" else f"`{rules.command_prefix} {shown}` is not a command; "
        return replace(base, action=Action.HELP, reason=asked + commands_help(rules.command_prefix))
    if issue.get("pull_request"):
        number = issue.get("number")
        if command in (Action.START, Action.RETRY):
            linked = issue_of_pull_request(issue.get("body"))
            if linked is None:
                return replace(base, reason="commands on pull requests autocoder did not open")
            return replace(
                base,
                action=Action.FOLLOW_UP,
                issue_number=linked,
                pull_number=number,
                reason=f"@{base.actor} asked for another pass on #{number}",
                needs_write=True,
            )
    elif command is Action.RETRY and SPEC_LABEL in _label_names(issue):
        return replace(  # a spec's session is its initializer (issue #13)
            base,
            action=Action.INITIALIZE,
            reason=f"@{base.actor} asked for #{base.issue_number}'s initializer again",
            needs_write=True,
        )
    return replace(
        base,
        action=command,
        reason=f"@{base.actor} commented {rules.command_prefix} {command.value}",
        needs_write=command is not Action.STATUS,
    )


def _tell(
    issue: Mapping[str, Any], body: str, mention: bool, rules: Rules, base: Decision
) -> Decision:
    """A message for the issue's running session (on autocoder's pull request: its issue's)."""
    if issue.get("pull_request"):
        linked = issue_of_pull_request(issue.get("body"))
        if linked is None:
            return replace(base, reason="messages on pull requests autocoder did not open")
        base = replace(base, issue_number=linked, pull_number=issue.get("number"))
    text = strip_hidden_text(body).strip() if mention else tell_text(body, rules.command_prefix)
    if not text:
        return replace(base, action=Action.HELP, reason=commands_help(rules.command_prefix))
    return replace(
        base,
        action=Action.TELL,
        text=text[:4000],
        mention=mention,
        reason=f"@{base.actor} has a message for the running session",
        needs_write=True,
    )


def _review_target(payload: Mapping[str, Any], base: Decision) -> Decision | None:
    pull = payload.get("pull_request") or {}
    issue_number = issue_of_pull_request(pull.get("body"))
    if issue_number is None:
        return None
    return replace(base, issue_number=issue_number, pull_number=pull.get("number"))


def _pull_request_review(
    action: str, payload: Mapping[str, Any], rules: Rules, base: Decision
) -> Decision:
    if action != "submitted":
        return base
    review = payload.get("review") or {}
    state = str(review.get("state") or "").lower()
    if state not in ("changes_requested", "commented"):
        return replace(base, reason=f"a review that is {state or 'unknown'} needs no follow-up")
    target = _review_target(payload, base)
    if target is None:
        return replace(base, reason="a review on a pull request autocoder did not open")
    return replace(
        target,
        action=Action.FOLLOW_UP,
        review_id=review.get("id"),
        reason=f"@{base.actor} reviewed #{target.pull_number} ({state.replace('_', ' ')})",
        needs_write=True,
    )


def _pull_request_review_comment(
    action: str, payload: Mapping[str, Any], rules: Rules, base: Decision
) -> Decision:
    if action != "created":
        return base
    comment = payload.get("comment") or {}
    if comment.get("pull_request_review_id") and not comment.get("in_reply_to_id"):
        # Part of a review: the pull_request_review.submitted event carries it.
        return replace(base, reason="part of a review; handled with the review")
    target = _review_target(payload, base)
    if target is None:
        return replace(base, reason="a comment on a pull request autocoder did not open")
    return replace(
        target,
        action=Action.FOLLOW_UP,
        comment_id=comment.get("id"),
        review_id=comment.get("pull_request_review_id"),
        reason=f"@{base.actor} commented on #{target.pull_number}",
        needs_write=True,
    )


def _pull_request(
    action: str, payload: Mapping[str, Any], rules: Rules, base: Decision
) -> Decision:
    """autocoder's pull request merged: a spec's sequence may wait for it (issue #13)."""
    pull = payload.get("pull_request") or {}
    if action != "closed" or not pull.get("merged"):
        return replace(base, reason=f"pull request {action or 'event'}: nothing to do")
    linked = issue_of_pull_request(pull.get("body"))
    if linked is None:
        return replace(base, reason="a pull request autocoder did not open")
    return replace(
        base,
        action=Action.MERGED,
        issue_number=linked,
        pull_number=pull.get("number"),
        reason=f"pull request #{pull.get('number')} for #{linked} was merged",
    )


def _check_run(action: str, payload: Mapping[str, Any], rules: Rules, base: Decision) -> Decision:
    run = payload.get("check_run") or {}
    app = run.get("app") or {}
    if run.get("name") != CHECK_RUN_NAME or (rules.app_id and app.get("id") != rules.app_id):
        return replace(base, reason="a check run autocoder did not create")
    issue_number = _issue_from_check_run(run)
    base = replace(base, issue_number=issue_number)
    if issue_number is None:
        return replace(base, reason="cannot tell which issue this check run belongs to")
    if action == "rerequested":
        return replace(base, action=Action.RETRY, reason="re-run requested", needs_write=True)
    if action == "requested_action":
        identifier = (payload.get("requested_action") or {}).get("identifier")
        if identifier == "retry":
            return replace(base, action=Action.RETRY, reason="Retry pressed", needs_write=True)
        if identifier == "continue":
            return replace(
                base, action=Action.CONTINUE, reason="Continue pressed", needs_write=True
            )
        if identifier == "stop":
            return replace(base, action=Action.CANCEL, reason="Stop pressed", needs_write=True)
    return base


_BRANCH = re.compile(r"^autocoder/issue-(\d+)(?:-|$)")
_EXTERNAL_ID = re.compile(r"^autocoder:issue-(\d+)(?::|$)")


def _issue_from_check_run(run: Mapping[str, Any]) -> int | None:
    """The issue a check run reports on: from its external id, else its branch."""
    match = _EXTERNAL_ID.match(str(run.get("external_id") or ""))
    if match:
        return int(match.group(1))
    suite = run.get("check_suite") or {}
    match = _BRANCH.match(str(suite.get("head_branch") or ""))
    if match:
        return int(match.group(1))
    for pull in run.get("pull_requests") or []:
        match = _BRANCH.match(str(((pull or {}).get("head") or {}).get("ref") or ""))
        if match:
            return int(match.group(1))
    return None


def authorize(decision: Decision, permission: str | None) -> Decision:
    """Apply the actor's permission on the repository (admin/maintain/write/triage/read/none)."""
    if not decision.needs_write:
        return decision
    if permission in WRITE_PERMISSIONS:
        return decision
    return replace(
        decision,
        action=Action.REFUSE,
        reason=(
            f"@{decision.actor} has {permission or 'no'} access to {decision.repository}; "
            "only people with write access can ask autocoder to work"
        ),
    )


_Handler = Callable[[str, Mapping[str, Any], Rules, Decision], Decision]
_HANDLERS: dict[str, _Handler] = {
    "issues": _issues,
    "issue_comment": _issue_comment,
    "pull_request": _pull_request,
    "pull_request_review": _pull_request_review,
    "pull_request_review_comment": _pull_request_review_comment,
    "check_run": _check_run,
}
