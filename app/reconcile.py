"""The reconcile: find labelled issues whose trigger was lost and queue each once — but only for
a person who may ask.

For one repository, the open issues with the trigger label are listed with a conditional request
(the last answer's `ETag` as `If-None-Match`, and `since`), so an unchanged repository is answered
304 and costs no rate limit. Every issue listed is mirrored. An open, labelled issue that has
nothing queued or running and whose agent status is `pending` (never queued, or cancelled since)
is a candidate; issues autocoder already worked on are left alone: the label is a request for
one session, not for one per reconcile.

A candidate starts work only under the webhook path's own rule. Its events (`GET
…/issues/{n}/events`) name who added the trigger label: the newest `labeled` event for it,
leaving out events caused by autocoder itself (its bot, or its App). That event is decided as
the `issues.labeled` delivery GitHub would have sent (`runner.decide.decide`) and checked with
`app.webhooks.handler.check_permission`: the person must have write access NOW. A refusal is
recorded on the feature (`trigger_refused_by` / `_through`, also written when the webhook path
refuses a label), and answered with the webhook path's comment the first time; a refused label
is never queued again, even if its author gains write access later: only a newer label, by a
person with write access, starts work. (Recorded rather than derived from the events each time,
because the events cannot tell a refused label from one lost while the server was down, and
because it makes a refused issue cost one events request per changed listing and no more
permission look-ups or comments.) When GitHub cannot answer (events or permission), the issue is
deferred and the listing's ETag is kept, so the next reconcile reads it again.

The issue graph of the repository's unfinished spec sequences (sub-issues and blockers) is
reconciled on the same pass, by `app.sequence.graph_reconcile`, whether or not the labelled
issues changed.

`ReconcileLoop` runs it for every active repository of the registry, every
`AUTOCODER_RECONCILE_INTERVAL` seconds (first at start-up), in a thread of `autocoder serve`;
`autocoder sync OWNER/REPO` runs it once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import AgentStatus, Repository, utcnow
from app.github_app import AppGitHub
from app.github_sync import PER_PAGE, GitHubSyncError, LabelEvent
from app.sequence.graph_reconcile import GraphETags, GraphResult, reconcile_graph
from app.status import Change, record_status
from app.webhooks import replies
from app.webhooks.handler import PermissionUnknown, check_permission
from runner.decide import Action, Decision, Rules, decide
from runner.github.errors import GitHubError

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileResult:
    repository: str
    not_modified: bool
    issues_seen: int = 0
    queued: tuple[int, ...] = ()
    job_ids: tuple[int, ...] = ()
    refused: tuple[int, ...] = ()  # labelled by someone without write access
    deferred: tuple[int, ...] = ()  # GitHub could not say who labelled it, or their permission
    error: str | None = None
    graph: GraphResult = field(default_factory=GraphResult)  # the specs' sub-issues and blockers

    def describe(self) -> str:
        text = self._describe_labelled()
        graph = self.graph.describe()
        return f"{text}; {graph}" if graph else text

    def _describe_labelled(self) -> str:
        if self.error:
            return f"{self.repository}: failed: {self.error}"
        if self.not_modified:
            return f"{self.repository}: unchanged (304)"
        queued = ", ".join(f"#{n}" for n in self.queued) or "nothing"
        text = f"{self.repository}: {self.issues_seen} labelled issue(s) seen, queued {queued}"
        if self.refused:
            refused = ", ".join(f"#{n}" for n in self.refused)
            text += f"; refused {refused} (labelled without write access)"
        if self.deferred:
            deferred = ", ".join(f"#{n}" for n in self.deferred)
            text += f"; deferred {deferred} (GitHub did not answer; tried again next time)"
        return text


def _has_label(labels: list[str], label: str) -> bool:
    return label.lower() in (name.lower() for name in labels)


@dataclass(frozen=True)
class _Candidate:
    number: int
    refused_by: str | None
    refused_through: datetime | None


@dataclass(frozen=True)
class _Verdict:
    number: int
    decision: Decision | None  # START or REFUSE; None: no trigger by a person, or deferred
    trigger: LabelEvent | None = None
    known_refusal: bool = False  # refused before: nothing to record or say
    deferred: str | None = None


def trigger_event(
    events: Sequence[LabelEvent], label: str, *, bot_login: str | None, app_id: int | None
) -> LabelEvent | None:
    """The newest `labeled` event of `label` made by a person: events caused by autocoder itself
    (its bot user, or made through its App) are left out."""
    for event in reversed(events):
        if event.event != "labeled" or event.label.lower() != label.lower() or not event.actor:
            continue
        if bot_login and event.actor.lower() == bot_login.lower():
            continue
        if app_id is not None and event.app_id == app_id:
            continue
        return event
    return None


def labelled_delivery(
    repository: str, installation_id: int, number: int, event: LabelEvent
) -> dict[str, Any]:
    """The `issues.labeled` payload GitHub sends for `event` (the parts `decide` reads)."""
    assert event.actor is not None
    return {
        "action": "labeled",
        "label": {"name": event.label},
        "issue": {"number": number},
        "sender": {"login": event.actor},
        "repository": {"full_name": repository},
        "installation": {"id": installation_id},
    }


def _judge(
    github: AppGitHub,
    rules: Rules,
    repository: str,
    installation_id: int,
    token: Callable[[], str],
    candidate: _Candidate,
) -> _Verdict:
    """Who labelled `candidate`, and may they: the webhook path's decision and permission rule."""
    number = candidate.number
    try:
        events = github.rest.list_label_events(token, repository, number)
    except GitHubSyncError as exc:
        return _Verdict(number, None, deferred=str(exc))
    trigger = trigger_event(
        events, rules.trigger_label, bot_login=rules.bot_login, app_id=rules.app_id
    )
    if trigger is None or trigger.actor is None:
        _log.info("reconcile: %s#%d: no person's label to act on", repository, number)
        return _Verdict(number, None)
    payload = labelled_delivery(repository, installation_id, number, trigger)
    decision = decide("issues", payload, rules)
    if decision.action is not Action.START:
        return _Verdict(number, None, trigger)
    if mirror.trigger_refused(
        candidate.refused_by, candidate.refused_through, trigger.actor, trigger.created_at
    ):
        refused = replace(
            decision, action=Action.REFUSE, reason=f"@{trigger.actor}'s label was refused before"
        )
        return _Verdict(number, refused, trigger, known_refusal=True)
    try:
        decision = check_permission(decision, github)
    except PermissionUnknown as exc:
        return _Verdict(number, None, trigger, deferred=str(exc))
    return _Verdict(number, decision, trigger)


def reconcile_repository(
    sessions: sessionmaker[Session],
    github: AppGitHub,
    repository: str,
    *,
    installation_id: int,
    trigger_label: str,
    graph_etags: GraphETags | None = None,
) -> ReconcileResult:
    """Reconcile `repository` (see the module's doc): its labelled issues, then its issue
    graph (`graph_etags`: the graph listings' last ETags, kept between calls). Raises
    `GitHubSyncError` when GitHub cannot list the labelled issues."""
    token = github.token_source(installation_id)
    result = _reconcile_labelled(
        sessions, github, repository, installation_id, trigger_label, token
    )
    graph = reconcile_graph(sessions, github.rest, token, repository, graph_etags or GraphETags())
    if graph.error:
        _log.warning("reconcile: %s", graph.describe())
    elif graph.changed:
        _log.info("reconcile: %s: %s", repository, graph.describe())
    return replace(result, graph=graph)


def _reconcile_labelled(
    sessions: sessionmaker[Session],
    github: AppGitHub,
    repository: str,
    installation_id: int,
    trigger_label: str,
    token: Callable[[], str],
) -> ReconcileResult:
    with sessions() as db, db.begin():
        row = mirror.upsert_repository(db, repository, installation_id=installation_id)
        etag, since = row.issues_etag, row.issues_since
    listing = github.rest.list_labelled_issues(
        token, repository, trigger_label, etag=etag, since=since
    )
    if listing.not_modified:
        with sessions() as db, db.begin():
            _touch(db, repository)
        return ReconcileResult(repository, not_modified=True)

    from app.queue.store import active_job, enqueue

    candidates: list[_Candidate] = []
    newest: datetime | None = None
    with sessions() as db, db.begin():
        for issue in listing.issues:
            feature = mirror.upsert_issue(db, repository, issue)
            if feature is None:
                continue
            updated = mirror.parse_time(issue.get("updated_at"))
            if updated is not None and (newest is None or updated > newest):
                newest = updated
            if feature.state != "open" or not _has_label(feature.labels, trigger_label):
                continue
            if feature.agent_status != AgentStatus.PENDING.value:
                continue
            if active_job(db, repository, feature.number) is not None:
                continue
            candidates.append(
                _Candidate(
                    feature.number, feature.trigger_refused_by, feature.trigger_refused_through
                )
            )

    # GitHub is asked outside any transaction (the database is never locked across a call).
    rules = Rules(trigger_label=trigger_label, bot_login=github.bot_login(), app_id=github.app_id)
    verdicts = [
        _judge(github, rules, repository, installation_id, token, candidate)
        for candidate in candidates
    ]

    queued: list[int] = []
    job_ids: list[int] = []
    refused: list[int] = []
    to_tell: list[tuple[int, str]] = []
    deferred = [v.number for v in verdicts if v.deferred is not None]
    with sessions() as db, db.begin():
        for verdict in verdicts:
            decision, trigger = verdict.decision, verdict.trigger
            if decision is None or trigger is None or trigger.actor is None:
                continue
            if decision.action is Action.REFUSE:
                refused.append(verdict.number)
                if not verdict.known_refusal:
                    through = trigger.created_at or utcnow()
                    mirror.record_refused_trigger(
                        db, repository, verdict.number, trigger.actor, through
                    )
                    to_tell.append((verdict.number, decision.reason))
                continue
            feature = mirror.get_feature(db, repository, verdict.number)
            if feature is None or feature.agent_status != AgentStatus.PENDING.value:
                continue  # a webhook got there first
            job = enqueue(
                db,
                kind="start",
                repository=repository,
                issue_number=verdict.number,
                installation_id=installation_id,
                actor=decision.actor,
                delivery_id=None,
            )
            if job is not None:
                record_status(db, repository, verdict.number, Change.QUEUED)
                queued.append(verdict.number)
                job_ids.append(job.id)
        repo_row = db.scalar(select(Repository).where(Repository.full_name == repository))
        if repo_row is not None:
            row = repo_row
            # Deferred issues must be read again: keep the old ETag, so the next answer is not
            # a 304 that would hide them.
            if not deferred:
                row.issues_etag = listing.etag
                # `since` moves on only when the answer filled a page: moving it changes the
                # query, and the ETag that goes with it, so the next unchanged reconcile would
                # not be a 304.
                if newest is not None and len(listing.issues) >= PER_PAGE:
                    row.issues_since = newest
                    row.issues_etag = None
            row.reconciled_at = utcnow()
    for number, job_id in zip(queued, job_ids, strict=True):
        _log.info("reconcile: queued %s#%d (job %d)", repository, number, job_id)
    for verdict in verdicts:
        if verdict.deferred is not None:
            _log.warning(
                "reconcile: %s#%d deferred: %s", repository, verdict.number, verdict.deferred
            )
    for number, reason in to_tell:
        _log.info("reconcile: refused %s#%d: %s", repository, number, reason)
        try:
            github.comment(
                installation_id, repository, number, replies.refusal(reason, trigger_label)
            )
        except GitHubError as exc:  # the refusal stands; only the explanation is lost
            _log.warning("could not explain the refusal on %s#%d: %s", repository, number, exc)
    return ReconcileResult(
        repository,
        not_modified=False,
        issues_seen=len(listing.issues),
        queued=tuple(queued),
        job_ids=tuple(job_ids),
        refused=tuple(refused),
        deferred=tuple(deferred),
    )


def _touch(db: Session, repository: str) -> None:
    row = db.scalar(select(Repository).where(Repository.full_name == repository))
    if row is not None:
        row.reconciled_at = utcnow()


@dataclass
class ReconcileLoop:
    """Reconcile every active repository of the registry, periodically, in a thread."""

    sessions: sessionmaker[Session]
    run_once: Callable[[str, int], ReconcileResult]  # (repository, installation id)
    interval_s: float
    on_result: Callable[[ReconcileResult], None] = lambda result: None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="autocoder-reconcile", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.reconcile_all()
            self._stop.wait(self.interval_s)

    def reconcile_all(self) -> list[ReconcileResult]:
        with self.sessions() as db:
            targets = [
                (repo.full_name, repo.installation_id)
                for repo in mirror.active_repositories(db)
                if repo.installation_id is not None
            ]
        results = []
        for repository, installation_id in targets:
            if self._stop.is_set():
                break
            assert installation_id is not None
            try:
                result = self.run_once(repository, installation_id)
            except (GitHubSyncError, Exception) as exc:  # keep reconciling the others
                _log.warning("reconcile of %s failed: %s", repository, exc)
                result = ReconcileResult(repository, not_modified=False, error=str(exc))
            self.on_result(result)
            results.append(result)
        return results
