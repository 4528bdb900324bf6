"""The reconcile: find labelled issues whose trigger was lost and queue each once.

For one repository, the open issues with the trigger label are listed with a conditional request
(the last answer's `ETag` as `If-None-Match`, and `since`), so an unchanged repository is answered
304 and costs no rate limit. Every issue listed is mirrored; an open, labelled issue that has
nothing queued or running and whose agent status is `pending` (never queued, or cancelled since)
gets a `start` job. Issues autocoder already worked on are left alone: the label is a request for
one session, not for one per reconcile.

`ReconcileLoop` runs it for every active repository of the registry, every
`AUTOCODER_RECONCILE_INTERVAL` seconds, in a thread of `autocoder serve`; `autocoder sync
OWNER/REPO` runs it once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import AgentStatus, Repository, utcnow
from app.github_sync import PER_PAGE, GitHubREST, GitHubSyncError

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileResult:
    repository: str
    not_modified: bool
    issues_seen: int = 0
    queued: tuple[int, ...] = ()
    job_ids: tuple[int, ...] = ()
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"{self.repository}: failed: {self.error}"
        if self.not_modified:
            return f"{self.repository}: unchanged (304)"
        queued = ", ".join(f"#{n}" for n in self.queued) or "nothing"
        return f"{self.repository}: {self.issues_seen} labelled issue(s) seen, queued {queued}"


def _has_label(labels: list[str], label: str) -> bool:
    return label.lower() in (name.lower() for name in labels)


def reconcile_repository(
    sessions: sessionmaker[Session],
    rest: GitHubREST,
    repository: str,
    *,
    installation_id: int,
    token: Callable[[], str],
    trigger_label: str,
) -> ReconcileResult:
    """Reconcile `repository` (see the module's doc). Raises `GitHubSyncError` when GitHub
    cannot be read."""
    with sessions() as db, db.begin():
        row = mirror.upsert_repository(db, repository, installation_id=installation_id)
        etag, since = row.issues_etag, row.issues_since
    listing = rest.list_labelled_issues(token, repository, trigger_label, etag=etag, since=since)
    if listing.not_modified:
        with sessions() as db, db.begin():
            _touch(db, repository)
        return ReconcileResult(repository, not_modified=True)

    from app.queue.store import active_job, enqueue

    queued: list[int] = []
    job_ids: list[int] = []
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
            job = enqueue(
                db,
                kind="start",
                repository=repository,
                issue_number=feature.number,
                installation_id=installation_id,
                actor=None,
                payload={"action": "start", "reason": "labelled; found by the reconcile"},
                delivery_id=None,
            )
            if job is not None:
                feature.agent_status = AgentStatus.QUEUED.value
                queued.append(feature.number)
                job_ids.append(job.id)
        repo_row = db.scalar(select(Repository).where(Repository.full_name == repository))
        if repo_row is not None:
            row = repo_row
            row.issues_etag = listing.etag
            # `since` moves on only when the answer filled a page: moving it changes the query,
            # and the ETag that goes with it, so the next unchanged reconcile would not be a 304.
            if newest is not None and len(listing.issues) >= PER_PAGE:
                row.issues_since = newest
                row.issues_etag = None
            row.reconciled_at = utcnow()
    for number, job_id in zip(queued, job_ids, strict=True):
        _log.info("reconcile: queued %s#%d (job %d)", repository, number, job_id)
    return ReconcileResult(
        repository,
        not_modified=False,
        issues_seen=len(listing.issues),
        queued=tuple(queued),
        job_ids=tuple(job_ids),
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
