"""Handling one verified delivery: deduplicate, decide, check permission, and apply the decision
to the database (delivery record, mirror, jobs) in ONE transaction, committed before the route
answers. Replies on GitHub (comments) are returned, to be posted after the answer.

Order of work, so the database lock is never held across a GitHub call:
1. already processed? → acknowledged as a duplicate, nothing done;
2. decide (pure) and, when the decision needs it, look up the actor's permission on GitHub;
3. one transaction: record the delivery, mirror, enqueue / cancel, commit.
A failure in 2 or 3 is recorded as a failed delivery; a redelivery (same id) is processed again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import Delivery, DeliveryStatus, utcnow
from app.github_app import AppGitHub
from app.github_sync import GitHubSyncError
from app.settings import AppSettings
from app.status import Change, record_status
from app.webhooks import replies
from runner.decide import Action, Decision, authorize, decide
from runner.github.errors import GitHubError
from runner.work_order import IssueFacts, WorkKind

_log = logging.getLogger(__name__)

DONE_STATUSES = (DeliveryStatus.PROCESSED.value, DeliveryStatus.IGNORED.value)
MIRRORED_EVENTS = ("issues", "issue_comment")


class DeliveryFailed(Exception):
    """Processing failed; recorded as a failed delivery. `transient`: worth a redelivery as is
    (GitHub or the database were unavailable); otherwise the configuration needs fixing."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class PermissionUnknown(DeliveryFailed):
    """The actor's permission could not be read, so nothing that needs it may start."""


def check_permission(
    decision: Decision, github: AppGitHub | None, *, missing: Sequence[str] = ()
) -> Decision:
    """The write-access rule of every path that starts work (webhooks, the reconcile, `autocoder
    sync`): a decision that needs write access goes ahead only when its actor has write access
    NOW (the collaborator permission API, through `AppGitHub.permission`); otherwise it becomes
    a refusal (`authorize`). Raises `PermissionUnknown` when the permission cannot be read.
    `missing`: the settings the App lacks, to say so when `github` is None."""
    if not decision.needs_write:
        return decision
    if github is None:
        raise PermissionUnknown(
            f"cannot check @{decision.actor}'s permission: the GitHub App is not configured "
            f"({', '.join(missing)} missing)",
            transient=False,
        )
    if decision.installation_id is None or not decision.repository or not decision.actor:
        raise PermissionUnknown(
            "the payload names no installation, repository or sender", transient=False
        )
    try:
        permission = github.permission(
            decision.installation_id, decision.repository, decision.actor
        )
    except GitHubError as exc:
        transient = exc.status is None or exc.status >= 500 or exc.status in (403, 429)
        raise PermissionUnknown(
            f"cannot check @{decision.actor}'s permission: {exc}", transient=transient
        ) from exc
    return authorize(decision, permission)


@dataclass(frozen=True)
class Reply:
    """A comment to post on GitHub once the delivery is answered."""

    installation_id: int
    repository: str
    number: int
    body: str


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | ignored | duplicate
    detail: str
    job_id: int | None = None
    replies: tuple[Reply, ...] = ()


class DeliveryHandler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: AppSettings,
        github: AppGitHub | None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._github = github

    # -- the steps ----------------------------------------------------------------------------

    def handle(self, event: str, delivery_id: str, payload: Mapping[str, Any]) -> Outcome:
        if self._already_done(delivery_id):
            return Outcome("duplicate", f"delivery {delivery_id} was already processed")
        try:
            decision = self._decide(event, payload)
        except DeliveryFailed as failure:
            self._record_failure(event, delivery_id, payload, str(failure))
            raise
        return self.apply(event, delivery_id, payload, decision)

    def decide_delivery(self, event: str, payload: Mapping[str, Any]) -> Decision:
        """Step 2 alone (may call GitHub: the bot's login once, permissions through a short
        cache); raises `DeliveryFailed`."""
        return self._decide(event, payload)

    def apply(
        self, event: str, delivery_id: str, payload: Mapping[str, Any], decision: Decision
    ) -> Outcome:
        """Step 3 in a transaction of its own; a failure is recorded and raised."""
        try:
            return self._apply(event, delivery_id, payload, decision)
        except IntegrityError:
            # The same delivery, processed concurrently, committed first.
            _log.info("delivery %s was processed concurrently; acknowledged", delivery_id)
            return Outcome("duplicate", f"delivery {delivery_id} was already processed")
        except Exception as exc:
            _log.exception("delivery %s (%s) failed", delivery_id, event)
            message = f"{type(exc).__name__}: {exc}"
            self._record_failure(event, delivery_id, payload, message)
            raise DeliveryFailed(message) from exc

    def _already_done(self, delivery_id: str) -> bool:
        with self._sessions() as db:
            status = db.scalar(select(Delivery.status).where(Delivery.delivery_id == delivery_id))
            return status in DONE_STATUSES

    def _decide(self, event: str, payload: Mapping[str, Any]) -> Decision:
        bot_login: str | None = None
        if self._github is not None:
            try:
                bot_login = self._github.bot_login()
            except GitHubSyncError as exc:
                raise DeliveryFailed(f"cannot tell autocoder's own bot: {exc}") from exc
        decision = decide(event, payload, self._settings.rules(bot_login))
        return check_permission(decision, self._github, missing=self._settings.missing())

    def _apply(
        self, event: str, delivery_id: str, payload: Mapping[str, Any], decision: Decision
    ) -> Outcome:
        with self._sessions() as db, db.begin():
            return self.apply_in(db, event, delivery_id, payload, decision)

    def apply_in(
        self,
        db: Session,
        event: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        decision: Decision,
    ) -> Outcome:
        """Step 3 inside the caller's transaction (the webhook route's group commit)."""
        delivery = db.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        if delivery is not None and delivery.status in DONE_STATUSES:
            return Outcome("duplicate", f"delivery {delivery_id} was already processed")
        if delivery is None:
            delivery = Delivery(delivery_id=delivery_id, attempts=1, received_at=utcnow())
            db.add(delivery)
        else:
            delivery.attempts += 1
        delivery.event = event
        delivery.action = str(payload.get("action") or "") or None
        delivery.repository = decision.repository
        delivery.installation_id = decision.installation_id
        delivery.status = DeliveryStatus.RECEIVED.value
        delivery.error = None
        db.flush()  # a concurrent twin fails here (unique delivery id)

        self._mirror(db, event, payload, decision)
        outcome = self._act(db, event, delivery_id, payload, decision)

        delivery.status = (
            DeliveryStatus.IGNORED.value
            if outcome.status == "ignored"
            else DeliveryStatus.PROCESSED.value
        )
        delivery.outcome = outcome.detail
        delivery.processed_at = utcnow()
        return outcome

    def record_failure(
        self, event: str, delivery_id: str, payload: Mapping[str, Any], error: str
    ) -> None:
        """Record a failed delivery in a transaction of its own (a redelivery runs again)."""
        self._record_failure(event, delivery_id, payload, error)

    def _record_failure(
        self, event: str, delivery_id: str, payload: Mapping[str, Any], error: str
    ) -> None:
        try:
            with self._sessions() as db, db.begin():
                delivery = db.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
                if delivery is None:
                    delivery = Delivery(
                        delivery_id=delivery_id,
                        event=event,
                        action=str(payload.get("action") or "") or None,
                        attempts=1,
                        received_at=utcnow(),
                    )
                    db.add(delivery)
                elif delivery.status in DONE_STATUSES:
                    return
                delivery.status = DeliveryStatus.FAILED.value
                delivery.error = error[:4000]
                delivery.processed_at = utcnow()
        except Exception:
            _log.exception("could not record the failure of delivery %s", delivery_id)

    # -- what the decision does to the database -------------------------------------------------

    def _mirror(
        self, db: Session, event: str, payload: Mapping[str, Any], decision: Decision
    ) -> None:
        repo = payload.get("repository")
        if isinstance(repo, Mapping) and event not in ("installation",):
            mirror.upsert_repository_json(db, repo, decision.installation_id)
        if event in MIRRORED_EVENTS and decision.repository:
            issue = payload.get("issue")
            if isinstance(issue, Mapping):
                mirror.upsert_issue(db, decision.repository, issue)
        if event in ("sub_issues", "issue_dependencies") and decision.repository:
            from app.sequence import relations

            relations.apply_event(db, decision.repository, event, payload)

    def _act(
        self,
        db: Session,
        event: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        decision: Decision,
    ) -> Outcome:
        action = decision.action
        if action is Action.INSTALLATION:
            return Outcome("processed", mirror.apply_installation_event(db, event, payload))
        if action in (Action.IGNORE, Action.MIRROR):
            status = "processed" if action is Action.MIRROR else "ignored"
            return Outcome(status, decision.reason)
        repository, number = decision.repository, decision.issue_number
        if not repository or number is None:
            return Outcome("ignored", f"{decision.reason} (no repository or issue)")
        reply_to = _reply_target(event, payload, decision)

        def reply(body: str) -> tuple[Reply, ...]:
            if reply_to is None or decision.installation_id is None:
                return ()
            return (Reply(decision.installation_id, repository, reply_to, body),)

        if action is Action.REFUSE:
            if decision.mention:  # a mere mention from someone without access: no answer
                return Outcome("ignored", f"refused: {decision.reason}")
            _log.info("refused %s#%s: %s", repository, number, decision.reason)
            if event == "issues" and payload.get("action") == "labeled" and decision.actor:
                # so the reconcile never starts work for this label either
                labelled, now = mirror.parse_time(_issue_updated_at(payload)), utcnow()
                through = now if labelled is None else max(labelled, now)
                mirror.record_refused_trigger(db, repository, number, decision.actor, through)
            text = replies.refusal(decision.reason, self._settings.trigger_label)
            return Outcome("processed", f"refused: {decision.reason}", replies=reply(text))
        if action is Action.HELP:  # an unknown command: list the commands, do nothing else
            return Outcome("processed", "help", replies=reply(decision.reason))
        if action is Action.STATUS:
            from app.queue.store import active_job

            job = active_job(db, repository, number)
            text = replies.status(
                number,
                mirror.get_feature(db, repository, number),
                mirror.latest_session(db, repository, number),
                job.state if job is not None else None,
            )
            return Outcome("processed", "status", replies=reply(text))
        if action is Action.CANCEL:
            from app.queue.store import cancel_active

            count = cancel_active(db, repository, number, decision.reason)
            closed = event == "issues" and payload.get("action") == "closed"
            change = Change.CLOSED if closed else Change.CANCELLED
            record_status(db, repository, number, change, count=count, create=False)
            detail = f"cancelled {count} job(s): {decision.reason}"
            return Outcome("processed", detail, replies=reply(replies.stopped(count)))
        if action is Action.MERGED:  # a feature's pull request merged (issue #13)
            from app.sequence import sequencer

            return Outcome("processed", sequencer.pull_merged(db, repository, number))
        if action in (Action.SEQUENCE, Action.PAUSE, Action.RESUME):  # a spec's sequence
            from app.sequence import sequencer

            if action is Action.PAUSE:
                detail = sequencer.pause(db, repository, number, decision.reason)
            else:
                start = sequencer.start if action is Action.SEQUENCE else sequencer.resume
                detail = start(db, repository, number, decision.installation_id, decision.actor)
            return Outcome("processed", detail, replies=reply(detail))
        if action is Action.TELL:
            return _tell(db, decision, repository, number, reply)
        return self._enqueue(db, delivery_id, decision, repository, number, reply, payload)

    def _enqueue(
        self,
        db: Session,
        delivery_id: str,
        decision: Decision,
        repository: str,
        number: int,
        reply: Any,
        payload: Mapping[str, Any],
    ) -> Outcome:
        from app.queue.store import active_job, enqueue

        # What the payload says of the issue and repository, so the session need not ask.
        kind = decision.work_kind or WorkKind(decision.action.value)
        facts = None if kind is WorkKind.FOLLOW_UP else IssueFacts.from_webhook(payload, number)
        job = enqueue(
            db,
            kind=kind.value,
            repository=repository,
            issue_number=number,
            installation_id=decision.installation_id,
            actor=decision.actor,
            pull_number=decision.pull_number,
            review_id=decision.review_id,
            delivery_id=delivery_id,
            payload={"facts": facts.model_dump(mode="json")} if facts is not None else None,
        )
        if job is None:
            active = active_job(db, repository, number)
            state = active.state if active is not None else "queued"
            detail = f"not queued: {repository}#{number} already has a {state} job"
            return Outcome("processed", detail, replies=reply(replies.already_active(state)))
        record_status(db, repository, number, Change.QUEUED)
        detail = f"queued {job.kind} job {job.id}: {decision.reason}"
        text = replies.queued(job.kind, decision.actor, job.id)
        return Outcome("processed", detail, job_id=job.id, replies=reply(text))


def _tell(db: Session, decision: Decision, repository: str, number: int, reply: Any) -> Outcome:
    """A maintainer's message for the issue's running session: stored on its job, for its
    worker to hand over at the next heartbeat; the session reacts to the comment once its
    model has it. No running session: say so (a mention that is not a command: nothing)."""
    from app.queue.store import active_job, add_tell

    job = active_job(db, repository, number)
    if job is None or job.state != "running" or decision.comment_id is None:
        if decision.mention:
            return Outcome("ignored", "a mention while no session runs")
        text = replies.nothing_running(number)
        return Outcome("processed", "tell: no running session", replies=reply(text))
    message = {
        "type": "tell",
        "comment_id": decision.comment_id,
        "author": decision.actor or "",
        "text": decision.text or "",
        "mention": decision.mention,
    }
    add_tell(db, job, message)
    return Outcome("processed", f"message for job {job.id} from @{decision.actor}")


def _issue_updated_at(payload: Mapping[str, Any]) -> Any:
    issue = payload.get("issue")
    return issue.get("updated_at") if isinstance(issue, Mapping) else None


def _reply_target(event: str, payload: Mapping[str, Any], decision: Decision) -> int | None:
    """Where to answer: the issue or pull request a command was written on, the issue a label
    or check-run button was used on; reviews get no reply (their session reports instead)."""
    if event == "issue_comment":
        issue = payload.get("issue")
        number = issue.get("number") if isinstance(issue, Mapping) else None
        return number if isinstance(number, int) else None
    if event == "issues" and decision.action is Action.REFUSE:
        return decision.issue_number
    if event == "check_run" and decision.action is Action.REFUSE:
        return decision.issue_number
    return None
