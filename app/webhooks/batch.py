"""Writing a group of verified, decided deliveries in ONE transaction (the group commit's
`apply`). The record is the one `DeliveryHandler` writes for a single delivery — delivery id,
event, action, repository, installation, status, outcome, job — and so are its rules:

- a delivery already processed or ignored is a duplicate (also twice in the same group);
- a delivery that failed before (same id: a redelivery) is processed again, `attempts` + 1;
- a delivery whose decision failed (GitHub could not be asked) is recorded as failed.

Most deliveries only update the mirror or are ignored. Those are written together: their rows
in one multi-row INSERT, and the mirror once per repository and issue of the group (the issue's
newest copy wins, as it would one by one). Anything that queues or cancels a job, replies or
changes the registry goes through `DeliveryHandler.apply_in`, in order, in the same
transaction. If the group's transaction fails (a concurrent writer took a delivery id, the
database is locked...), it is rolled back and each delivery is written on its own, as before.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import Delivery, DeliveryStatus, utcnow
from app.webhooks.handler import (
    DONE_STATUSES,
    MIRRORED_EVENTS,
    DeliveryFailed,
    DeliveryHandler,
    Outcome,
)
from app.webhooks.raw_write import Together, write_raw
from runner.decide import Action, Decision

_log = logging.getLogger(__name__)

_TOGETHER = (Action.IGNORE, Action.MIRROR)
_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Verified:
    """A delivery whose signature checked out: decided, or failed while deciding."""

    event: str
    delivery_id: str
    payload: Mapping[str, Any]
    decision: Decision | None
    failure: DeliveryFailed | None = None


Result = Outcome | DeliveryFailed


def _duplicate(delivery_id: str) -> Outcome:
    return Outcome("duplicate", f"delivery {delivery_id} was already processed")


def _action_of(payload: Mapping[str, Any]) -> str | None:
    return str(payload.get("action") or "") or None


@dataclass
class _Together:
    """Ignored and mirror-only deliveries of the group, written in one go."""

    new: list[dict[str, Any]] = field(default_factory=list)
    again: list[dict[str, Any]] = field(default_factory=list)  # failed before: attempts + 1
    mirrored: list[Verified] = field(default_factory=list)

    def add(self, item: Verified, outcome: Outcome, seen_before: bool, now: datetime) -> None:
        decision = item.decision
        assert decision is not None
        status = DeliveryStatus.IGNORED if outcome.status == "ignored" else DeliveryStatus.PROCESSED
        row = {
            "delivery_id": item.delivery_id,
            "event": item.event,
            "action": _action_of(item.payload),
            "repository": decision.repository,
            "installation_id": decision.installation_id,
            "status": status.value,
            "outcome": outcome.detail,
            "error": None,
            "processed_at": now,
        }
        if seen_before:
            self.again.append(row)
        else:
            self.new.append(row | {"attempts": 1, "received_at": now})
        self.mirrored.append(item)

    def write(self, db: Session, memo: MirrorMemo) -> None:
        if self.new:
            db.connection().execute(_DELIVERIES.insert(), self.new)
        for row in self.again:
            db.connection().execute(
                _DELIVERIES.update()
                .where(_DELIVERIES.c.delivery_id == row["delivery_id"])
                .values(attempts=_DELIVERIES.c.attempts + 1, **row)
            )
        _mirror_group(db, self.mirrored, memo)
        self.new, self.again, self.mirrored = [], [], []


class MirrorMemo:
    """What the group writer mirrored lately (committed), so a burst of events about the same
    repository or issue writes each identical copy once: a copy equal to one written less than
    `ttl_s` ago is skipped (writing it again would change nothing). Entries become visible only
    once their group is committed; anything written outside the fast path forgets them all."""

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._written: dict[tuple[Any, ...], tuple[tuple[Any, ...], float]] = {}
        self._pending: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def fresh(self, key: tuple[Any, ...], copy: tuple[Any, ...]) -> bool:
        if self._pending.get(key) == copy:
            return True
        written = self._written.get(key)
        return written is not None and written[0] == copy and written[1] > self._clock()

    def wrote(self, key: tuple[Any, ...], copy: tuple[Any, ...]) -> None:
        self._pending[key] = copy

    def committed(self) -> None:
        if len(self._written) > 10_000:
            self._written.clear()
        until = self._clock() + self._ttl
        for key, copy in self._pending.items():
            self._written[key] = (copy, until)
        self._pending.clear()

    def forget(self) -> None:
        self._written.clear()
        self._pending.clear()


def _issue_copy(issue: Mapping[str, Any]) -> tuple[Any, ...]:
    fields = ("updated_at", "title", "body", "state", "html_url", "user", "labels")
    return tuple(repr(issue.get(name)) for name in fields)


def _newest(copies: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The copy of an issue that wins when applied in order (the last of the newest), or None
    when one has no `updated_at`."""
    times = [mirror.parse_time(copy.get("updated_at")) for copy in copies]
    if any(time is None for time in times):
        return None
    newest = max(t for t in times if t is not None)
    return [c for c, t in zip(copies, times, strict=True) if t == newest][-1]


def _memo_keys(items: Sequence[Verified]) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]] | None:
    """What `_mirror_group` would write for `items`, as memo keys and copies (None: not all of
    it can be remembered)."""
    keys: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    issues: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for item in items:
        decision = item.decision
        assert decision is not None
        if item.event in ("sub_issues", "issue_dependencies"):
            return None  # the issue graph is written the ORM way (issue #13)
        repo = item.payload.get("repository")
        if isinstance(repo, Mapping) and item.event != "installation":
            name = repo.get("full_name")
            if not isinstance(name, str):
                return None
            copy = (repo.get("id"), repo.get("private"), decision.installation_id)
            keys.append((("repo", name), copy))
        if item.event in MIRRORED_EVENTS and decision.repository:
            issue = item.payload.get("issue")
            if isinstance(issue, Mapping) and isinstance(issue.get("number"), int):
                issues.setdefault((decision.repository, issue["number"]), []).append(issue)
    for (repository, number), copies in issues.items():
        winner = _newest(copies)
        if winner is None:
            return None
        keys.append((("issue", repository, number), _issue_copy(winner)))
    return keys


def _mirror_group(db: Session, items: Sequence[Verified], memo: MirrorMemo) -> None:
    """`DeliveryHandler._mirror` for each item, in order, with the same end state, but each
    repository written once per distinct copy and each issue once (its newest copy)."""
    issues: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for item in items:
        decision = item.decision
        assert decision is not None
        repo = item.payload.get("repository")
        if isinstance(repo, Mapping) and item.event != "installation":
            name = repo.get("full_name")
            copy = (repo.get("id"), repo.get("private"), decision.installation_id)
            if not isinstance(name, str) or not memo.fresh(("repo", name), copy):
                mirror.upsert_repository_json(db, repo, decision.installation_id)
                if isinstance(name, str):
                    memo.wrote(("repo", name), copy)
        if item.event in MIRRORED_EVENTS and decision.repository:
            issue = item.payload.get("issue")
            if isinstance(issue, Mapping) and isinstance(issue.get("number"), int):
                issues.setdefault((decision.repository, issue["number"]), []).append(issue)
        if item.event in ("sub_issues", "issue_dependencies") and decision.repository:
            from app.sequence import relations  # the issue graph (issue #13)

            relations.apply_event(db, decision.repository, item.event, item.payload)
    for (repository, number), copies in issues.items():
        winner = _newest(copies)
        if winner is None:  # no order to go by: one by one
            for each in copies:
                mirror.upsert_issue(db, repository, each)
            continue
        key, seen = ("issue", repository, number), _issue_copy(winner)
        if not memo.fresh(key, seen):
            mirror.upsert_issue(db, repository, winner)
            memo.wrote(key, seen)


def write_together(
    db: Session, handler: DeliveryHandler, items: Sequence[Verified], memo: MirrorMemo
) -> list[Result]:
    """The group's writes inside the caller's transaction; one result per item."""
    ids = {item.delivery_id for item in items}
    table = _DELIVERIES
    query = select(table.c.delivery_id, table.c.status).where(table.c.delivery_id.in_(ids))
    known: dict[str, str] = {row[0]: row[1] for row in db.connection().execute(query)}
    together = _Together()
    now = utcnow()
    results: list[Result] = []
    for item in items:
        status = known.get(item.delivery_id)
        if status in DONE_STATUSES:
            results.append(_duplicate(item.delivery_id))
            continue
        if item.failure is not None or item.decision is None:
            failure = item.failure or DeliveryFailed("the delivery was not decided")
            together.write(db, memo)
            memo.forget()
            _record_failed(db, item, str(failure), now)
            known[item.delivery_id] = DeliveryStatus.FAILED.value
            results.append(failure)
            continue
        decision = item.decision
        if decision.action in _TOGETHER:
            status_word = "processed" if decision.action is Action.MIRROR else "ignored"
            outcome = Outcome(status_word, decision.reason)
            together.add(item, outcome, status is not None, now)
        else:
            together.write(db, memo)
            memo.forget()
            outcome = handler.apply_in(db, item.event, item.delivery_id, item.payload, decision)
        known[item.delivery_id] = DeliveryStatus.PROCESSED.value
        results.append(outcome)
    together.write(db, memo)
    return results


def _record_failed(db: Session, item: Verified, error: str, now: datetime) -> None:
    row = db.scalar(select(Delivery).where(Delivery.delivery_id == item.delivery_id))
    if row is None:
        row = Delivery(
            delivery_id=item.delivery_id,
            event=item.event,
            action=_action_of(item.payload),
            attempts=1,
            received_at=now,
        )
        db.add(row)
    row.status = DeliveryStatus.FAILED.value
    row.error = error[:4000]
    row.processed_at = now


def one_by_one(handler: DeliveryHandler, item: Verified) -> Result:
    """A delivery written as `DeliveryHandler` writes it alone (the group's fallback)."""
    if item.failure is not None or item.decision is None:
        failure = item.failure or DeliveryFailed("the delivery was not decided")
        handler.record_failure(item.event, item.delivery_id, item.payload, str(failure))
        return failure
    try:
        return handler.apply(item.event, item.delivery_id, item.payload, item.decision)
    except DeliveryFailed as failure:
        return failure


@contextmanager
def _turn(lock_file: Path | None) -> Iterator[None]:
    """One group at a time across the server's processes (an exclusive `flock`: a waiting
    process wakes as soon as the lock is free, where SQLite's busy handler would sleep)."""
    if lock_file is None:
        yield
        return
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def group_writer(
    sessions: sessionmaker[Session],
    handler: DeliveryHandler,
    lock_file: Path | None = None,
    sqlite: Engine | None = None,
) -> Callable[[Sequence[Verified]], list[Result]]:
    """The `apply` of a `GroupCommit`: the group in one transaction, else one by one.
    `lock_file`: beside a SQLite database, so that processes write one group at a time.
    `sqlite`: that database's engine, for groups that need no ORM (`raw_write`)."""

    memo = MirrorMemo()

    def raw(items: Sequence[Verified]) -> list[Result] | None:
        together: list[Together] = []
        for item in items:
            decision = item.decision
            if item.failure is not None or decision is None or decision.action not in _TOGETHER:
                return None
            together.append((item.delivery_id, item.event, _action_of(item.payload), decision))
        keys = _memo_keys(items)
        if sqlite is None or keys is None or not all(memo.fresh(k, c) for k, c in keys):
            return None
        try:
            with _turn(lock_file):
                return list(write_raw(sqlite, together))
        except Exception:
            _log.warning("a group could not be written directly; through the ORM", exc_info=True)
            return None

    def apply(items: Sequence[Verified]) -> list[Result]:
        done = raw(items)
        if done is not None:
            return done
        try:
            with _turn(lock_file), sessions() as db, db.begin():
                results = write_together(db, handler, items, memo)
            memo.committed()
            return results
        except Exception:
            memo.forget()
            _log.warning(
                "a group of %d deliveries could not be written together; one by one",
                len(items),
                exc_info=True,
            )
        return [one_by_one(handler, item) for item in items]

    return apply
