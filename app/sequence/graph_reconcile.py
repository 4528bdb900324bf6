"""The issue graph's reconcile: the sub-issues and blockers of every spec whose sequence is not
finished are read from GitHub and written to the mirror as GitHub has them. A lost `sub_issues`
or `issue_dependencies` delivery, or a relation changed while the server was down, would
otherwise let a sequence run a feature before its blockers, or never see a new feature.

Per spec and reconcile: one listing of its sub-issues, then one of the blockers of each of its
sub-issues that is open and not passing (the others are never chosen again). Each listing is
conditional (the last answer's ETag as `If-None-Match`), so an unchanged graph costs 304s only,
which count against no rate limit. The ETags live in memory (`GraphETags`, one per server); the
first reconcile after a start reads everything. The related issues are mirrored too: their
labels say which pass, their state which are closed.

GitHub is asked outside any transaction; each listing's answer is written in a transaction of
its own, and its ETag kept only once that has committed. A relation that a webhook mirrors
while GitHub is being asked is not removed by the (possibly older) listing; one that a webhook
removes in that moment may come back until the next reconcile reads the graph again.

A listing GitHub cannot answer ends the graph's reconcile for this repository (the mirror keeps
what it had, the next reconcile reads it again); the labelled issues' reconcile does not depend
on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import FeatureSequence
from app.github_sync import (
    RELATED_BLOCKED_BY,
    RELATED_SUB_ISSUES,
    GitHubREST,
    GitHubSyncError,
    IssueListing,
)
from app.sequence import relations
from app.sequence.sequencer import FINISHED
from runner.features.model import PASSING_LABEL


@dataclass(frozen=True)
class GraphResult:
    specs: tuple[int, ...] = ()  # the specs whose graph was read
    changed: tuple[int, ...] = ()  # issues whose sub-issues or blockers the mirror had wrong
    error: str | None = None

    def describe(self) -> str:
        if not self.specs:
            return ""
        specs = ", ".join(f"#{n}" for n in self.specs)
        if self.error:
            return f"issue graph of {specs}: failed: {self.error}"
        if not self.changed:
            return f"issue graph of {specs}: as mirrored"
        return f"issue graph of {specs}: corrected {', '.join(f'#{n}' for n in self.changed)}"


@dataclass
class GraphETags:
    """The last ETag of each relation listing: (repository, issue, relation) → ETag."""

    _etags: dict[tuple[str, int, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, repository: str, number: int, relation: str) -> str | None:
        with self._lock:
            return self._etags.get((repository, number, relation))

    def keep(self, repository: str, number: int, relation: str, etag: str | None) -> None:
        with self._lock:
            if etag:
                self._etags[(repository, number, relation)] = etag
            else:
                self._etags.pop((repository, number, relation), None)


def live_specs(db: Session, repository: str) -> list[int]:
    """The spec issues of `repository` whose sequence may still choose a feature."""
    query = (
        select(FeatureSequence.spec_number)
        .where(FeatureSequence.repository == repository, FeatureSequence.state != FINISHED)
        .order_by(FeatureSequence.spec_number)
    )
    return list(db.scalars(query))


def open_sub_issues(db: Session, repository: str, spec: int) -> list[int]:
    """The mirror's sub-issues of `spec` that are open and not passing."""
    children = {
        r.number
        for r in relations.of(db, repository)
        if r.kind == relations.SUB_ISSUE and r.other == spec
    }
    return [
        row.number
        for row in mirror.features_of(db, repository)
        if row.number in children and row.state == "open" and PASSING_LABEL not in row.labels
    ]


def mirror_related(
    db: Session,
    repository: str,
    number: int,
    relation: str,
    issues: Sequence[Mapping[str, Any]],
    *,
    asked_after: int,
) -> bool:
    """Write one listing: the related issues, and exactly these as `number`'s sub-issues or
    blockers, but for the relations a webhook mirrored while GitHub was asked (row id above
    `asked_after`, `relations.newest_id` before asking): the listing may predate them. True
    when the mirror had the relation otherwise. Does not commit."""
    numbers = [i["number"] for i in issues if isinstance(i.get("number"), int)]
    for issue in issues:
        mirror.upsert_issue(db, repository, issue)
    if relation == RELATED_SUB_ISSUES:
        return relations.replace_sub_issues(db, repository, number, numbers, kept_after=asked_after)
    return relations.replace_others(
        db, repository, relations.BLOCKED_BY, number, numbers, kept_after=asked_after
    )


def reconcile_graph(
    sessions: sessionmaker[Session],
    rest: GitHubREST,
    token: Callable[[], str],
    repository: str,
    etags: GraphETags,
) -> GraphResult:
    """Reconcile the issue graph of `repository` (see the module's doc)."""
    with sessions() as db:
        specs = live_specs(db, repository)
    changed: list[int] = []

    def read(number: int, relation: str) -> None:
        etag = etags.get(repository, number, relation)
        with sessions() as db:
            asked_after = relations.newest_id(db, repository)
        listing: IssueListing = rest.list_related_issues(
            token, repository, number, relation, etag=etag
        )
        if listing.not_modified:
            return
        with sessions() as db, db.begin():
            if mirror_related(
                db, repository, number, relation, listing.issues, asked_after=asked_after
            ):
                changed.append(number)
        etags.keep(repository, number, relation, listing.etag)

    try:
        for spec in specs:
            read(spec, RELATED_SUB_ISSUES)
            with sessions() as db:
                features = open_sub_issues(db, repository, spec)
            for number in features:
                read(number, RELATED_BLOCKED_BY)
    except GitHubSyncError as exc:
        return GraphResult(tuple(specs), tuple(changed), error=str(exc))
    return GraphResult(tuple(specs), tuple(changed))
