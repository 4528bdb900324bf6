"""The group commit of webhook deliveries: callers that arrive together share one transaction
(and each gets its own result), and a group is recorded exactly as the deliveries would be one
by one — duplicates, redeliveries of failures, the newest copy of an issue, jobs. Real SQLite,
real threads; no GitHub (decisions are given)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.db.engine import Database, open_database
from app.db.models import Delivery, Feature
from app.queue.models import Job
from app.webhooks.batch import Verified, group_writer
from app.webhooks.group_commit import GroupCommit
from app.webhooks.handler import DeliveryFailed, DeliveryHandler, Outcome
from app.webhooks.permission_events import stale_permissions
from runner.decide import Action, Decision, decide
from tests.app.webhook_harness import make_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "webhooks"


def test_callers_that_arrive_together_are_written_as_one_group() -> None:
    groups: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def apply(items: Sequence[int]) -> list[int]:
        groups.append(list(items))
        if len(groups) == 1:
            first_started.set()
            release.wait(10)  # the first group "commits" while the others queue
        return [item * 10 for item in items]

    writer: GroupCommit[int, int] = GroupCommit(apply)

    async def main() -> list[int]:
        first = asyncio.ensure_future(writer.submit(0))
        await asyncio.get_running_loop().run_in_executor(None, first_started.wait, 10)
        rest = [asyncio.ensure_future(writer.submit(n)) for n in range(1, 21)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest)

    try:
        assert asyncio.run(main()) == [n * 10 for n in range(21)]
    finally:
        writer.close()
    assert groups == [[0], list(range(1, 21))]


def test_a_group_that_cannot_be_written_fails_each_caller() -> None:
    def apply(items: Sequence[int]) -> list[int]:
        raise RuntimeError("disk full")

    writer: GroupCommit[int, int] = GroupCommit(apply)

    async def main() -> list[Any]:
        return await asyncio.gather(*(writer.submit(n) for n in range(3)), return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.close()
    assert [str(r) for r in results] == ["disk full"] * 3


@pytest.fixture
def database(tmp_path: Path, database_url: str) -> Any:
    settings = make_settings(tmp_path, database_url=database_url)  # SQLite, then PostgreSQL
    db = open_database(settings.database_url)
    yield db, DeliveryHandler(db.sessions, settings, None)
    db.dispose()


def _labeled(number: int, *, label: str = "bug", title: str = "", updated: str = "") -> Any:
    payload = json.loads((SAMPLES / "issues.labeled.1.json").read_text())
    payload = copy.deepcopy(payload)
    payload["issue"]["number"] = number
    payload["label"]["name"] = label
    if title:
        payload["issue"]["title"] = title
    if updated:
        payload["issue"]["updated_at"] = updated
    return payload


def _verified(delivery_id: str, payload: Any, decision: Decision | None = None) -> Verified:
    return Verified("issues", delivery_id, payload, decision or decide("issues", payload, _rules()))


def _rules() -> Any:
    from runner.decide import Rules

    return Rules()


def _deliveries(db: Database) -> dict[str, tuple[str, int]]:
    with db.sessions() as session:
        rows = session.execute(select(Delivery.delivery_id, Delivery.status, Delivery.attempts))
        return {r[0]: (r[1], r[2]) for r in rows}


def test_a_group_is_recorded_as_one_by_one(database: Any) -> None:
    db, handler = database
    apply = group_writer(db.sessions, handler)
    handler.record_failure("issues", "was-failed", _labeled(1), "GitHub was down")
    start = Decision(
        Action.START,
        "labelled",
        repository="Codertocat/Hello-World",
        issue_number=7,
        actor="mona",
        installation_id=None,
    )
    results = apply(
        [
            _verified("a", _labeled(1, title="newest", updated="2030-01-02T00:00:00Z")),
            _verified("a", _labeled(1)),  # the same delivery twice in one group
            _verified("b", _labeled(1, title="older", updated="2030-01-01T00:00:00Z")),
            _verified("was-failed", _labeled(1)),  # GitHub's redelivery of a failure
            _verified("job", _labeled(7, label="autocoder"), start),
            _verified("c", _labeled(2), None),
            Verified("issues", "d", _labeled(3), None, DeliveryFailed("no permission")),
        ]
    )
    statuses = [r.status if isinstance(r, Outcome) else str(r) for r in results]
    assert statuses == [
        "ignored",
        "duplicate",
        "ignored",
        "ignored",
        "processed",
        "ignored",
        "no permission",
    ]
    job_result = results[4]
    assert isinstance(job_result, Outcome) and job_result.job_id is not None
    assert _deliveries(db) == {
        "a": ("ignored", 1),
        "b": ("ignored", 1),
        "was-failed": ("ignored", 2),
        "job": ("processed", 1),
        "c": ("ignored", 1),
        "d": ("failed", 1),
    }
    with db.sessions() as session:
        titles = {r[0]: r[1] for r in session.execute(select(Feature.number, Feature.title))}
        jobs = session.execute(select(Job.id, Job.delivery_id, Job.issue_number)).all()
    assert titles[1] == "newest"  # the older copy, later in the group, does not win
    assert [tuple(j) for j in jobs] == [(job_result.job_id, "job", 7)]
    # The same deliveries again, in a later group: all duplicates, nothing written twice.
    again = apply([_verified(d, _labeled(1)) for d in ("a", "b", "job", "c")])
    assert [r.status for r in again if isinstance(r, Outcome)] == ["duplicate"] * 4
    # A delivery that failed is processed when it comes again.
    assert [getattr(r, "status", None) for r in apply([_verified("d", _labeled(3))])] == ["ignored"]
    assert _deliveries(db)["d"] == ("ignored", 2)


def test_access_events_name_the_permissions_they_make_stale() -> None:
    repo = {"full_name": "octo/hello"}
    assert stale_permissions("member", {"repository": repo, "member": {"login": "mona"}}) == (
        "octo/hello",
        "mona",
    )
    assert stale_permissions("membership", {"member": {"login": "mona"}}) == (None, "mona")
    organization = {"membership": {"user": {"login": "hubot"}}}
    assert stale_permissions("organization", organization) == (None, "hubot")
    assert stale_permissions("team", {"repository": repo}) == ("octo/hello", None)
    assert stale_permissions("team", {}) == (None, None)


def _record(db: Database) -> list[tuple[Any, ...]]:
    with db.sessions() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.delivery_id)).all()
        for row in rows:
            assert row.received_at.tzinfo is not None and row.processed_at is not None
        return [
            (r.delivery_id, r.event, r.action, r.repository, r.installation_id, r.status,
             r.outcome, r.error, r.attempts)
            for r in rows
        ]  # fmt: skip


def test_the_direct_write_records_what_the_orm_records(tmp_path: Path) -> None:
    """Groups of ignored deliveries whose mirror copy is already written skip the ORM
    (`raw_write`); the record is the same either way."""
    records = []
    for name, direct in (("orm", False), ("direct", True)):
        settings = make_settings(tmp_path / name)
        db = open_database(settings.database_url)
        handler = DeliveryHandler(db.sessions, settings, None)
        apply = group_writer(db.sessions, handler, None, db.engine if direct else None)
        handler.record_failure("issues", "was-failed", _labeled(1), "GitHub was down")
        first = apply([_verified("first", _labeled(1))])  # writes the mirror (ORM)
        assert [getattr(r, "status", r) for r in first] == ["ignored"]
        group = [_verified(d, _labeled(1)) for d in ("a", "b", "a", "was-failed", "first")]
        outcomes = apply(group)
        assert [getattr(r, "status", r) for r in outcomes] == [
            "ignored", "ignored", "duplicate", "ignored", "duplicate"
        ]  # fmt: skip
        records.append(_record(db))
        db.dispose()
    assert records[0] == records[1]
    assert [(r[0], r[5], r[8]) for r in records[1]] == [
        ("a", "ignored", 1), ("b", "ignored", 1), ("first", "ignored", 1),
        ("was-failed", "ignored", 2),
    ]  # fmt: skip
