"""The group commit's fastest case, on SQLite: every delivery of the group is ignored or only
mirrored, and the mirror already holds each copy (`MirrorMemo`: a burst about the same issues).
Then the group is three statements on the pooled DB-API connection — look up the ids, insert the
new rows, update the redelivered failures — in one `BEGIN IMMEDIATE … COMMIT`, without the ORM.
The record is the one `write_together` makes (same columns, same rules for duplicates and
redeliveries); anything else goes the ORM way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from app.db.models import DeliveryStatus, utcnow
from app.db.sqlite_turns import turns_of
from app.webhooks.handler import DONE_STATUSES, Outcome
from runner.decide import Action, Decision

Together = tuple[str, str, str | None, Decision]  # delivery id, event, action, decision

_INSERT = (
    "INSERT INTO deliveries (event, action, repository, installation_id, status, outcome,"
    " processed_at, delivery_id, attempts, received_at, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, NULL)"
)
_UPDATE = (
    "UPDATE deliveries SET event = ?, action = ?, repository = ?, installation_id = ?,"
    " status = ?, outcome = ?, processed_at = ?, error = NULL, attempts = attempts + 1"
    " WHERE delivery_id = ?"
)


def sqlite_time(moment: datetime) -> str:
    """A UTC time as SQLAlchemy stores `UTCDateTime` in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def write_raw(engine: Engine, items: Sequence[Together]) -> list[Outcome]:
    """(delivery id, event, action, decision) of ignored / mirror-only deliveries, written in
    one transaction; one `Outcome` each (a duplicate for an id already done, or twice here)."""
    connection = engine.raw_connection()
    turns = turns_of(engine)
    try:
        if turns is not None:  # as SQLAlchemy's transactions do (app/db/sqlite_turns.py)
            turns.take(connection.info)
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            results = _write(cursor, items)
            if turns is not None:
                turns.release(connection.info)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return results
    finally:
        connection.close()  # back to the pool: a turn still held is released there


def _write(cursor: Any, items: Sequence[Together]) -> list[Outcome]:
    ids = list({delivery_id for delivery_id, _, _, _ in items})
    marks = ", ".join("?" * len(ids))
    query = f"SELECT delivery_id, status FROM deliveries WHERE delivery_id IN ({marks})"  # noqa: S608
    known: dict[str, str] = dict(cursor.execute(query, ids).fetchall())
    now = sqlite_time(utcnow())
    new: list[tuple[object, ...]] = []
    again: list[tuple[object, ...]] = []
    results: list[Outcome] = []
    for delivery_id, event, action, decision in items:
        status = known.get(delivery_id)
        if status in DONE_STATUSES:
            results.append(Outcome("duplicate", f"delivery {delivery_id} was already processed"))
            continue
        mirrored = decision.action is Action.MIRROR
        outcome = Outcome("processed" if mirrored else "ignored", decision.reason)
        stored = DeliveryStatus.PROCESSED if mirrored else DeliveryStatus.IGNORED
        row = (event, action, decision.repository, decision.installation_id, stored.value,
               outcome.detail, now, delivery_id)  # fmt: skip
        if status is None:
            new.append((*row, now))
        else:
            again.append(row)
        known[delivery_id] = stored.value
        results.append(outcome)
    if new:
        cursor.executemany(_INSERT, new)
    if again:
        cursor.executemany(_UPDATE, again)
    return results
