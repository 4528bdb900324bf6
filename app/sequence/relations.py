"""The issue graph in the mirror: sub-issue and blocked-by relations, from the `sub_issues` and
`issue_dependencies` webhooks and from the reconcile. Both issues a webhook names are mirrored
too (their labels say which are features and which pass)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import mirror
from app.db.models import IssueRelation

SUB_ISSUE = "sub_issue"  # number is a sub-issue of other
BLOCKED_BY = "blocked_by"  # number is blocked by other

# event, action → (kind, whose number, whose other, added?)
_EVENTS: dict[tuple[str, str], tuple[str, str, str, bool]] = {
    ("sub_issues", "sub_issue_added"): (SUB_ISSUE, "sub_issue", "parent_issue", True),
    ("sub_issues", "sub_issue_removed"): (SUB_ISSUE, "sub_issue", "parent_issue", False),
    ("sub_issues", "parent_issue_added"): (SUB_ISSUE, "sub_issue", "parent_issue", True),
    ("sub_issues", "parent_issue_removed"): (SUB_ISSUE, "sub_issue", "parent_issue", False),
    ("issue_dependencies", "blocked_by_added"): (
        BLOCKED_BY,
        "blocked_issue",
        "blocking_issue",
        True,
    ),
    ("issue_dependencies", "blocked_by_removed"): (
        BLOCKED_BY,
        "blocked_issue",
        "blocking_issue",
        False,
    ),
    ("issue_dependencies", "blocking_added"): (BLOCKED_BY, "blocked_issue", "blocking_issue", True),
    ("issue_dependencies", "blocking_removed"): (
        BLOCKED_BY,
        "blocked_issue",
        "blocking_issue",
        False,
    ),
}


def apply_event(db: Session, repository: str, event: str, payload: Mapping[str, Any]) -> bool:
    """Mirror one relation webhook; False when it is not one. Does not commit."""
    found = _EVENTS.get((event, str(payload.get("action") or "")))
    if found is None:
        return False
    kind, one, two, added = found
    first, second = payload.get(one), payload.get(two)
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        return False
    for issue in (first, second):
        mirror.upsert_issue(db, repository, issue)
    number, other = first.get("number"), second.get("number")
    if not isinstance(number, int) or not isinstance(other, int):
        return False
    if added:
        add(db, repository, kind, number, other)
    else:
        remove(db, repository, kind, number, other)
    return True


def add(db: Session, repository: str, kind: str, number: int, other: int) -> None:
    exists = db.scalar(
        select(IssueRelation.id).where(
            IssueRelation.repository == repository,
            IssueRelation.kind == kind,
            IssueRelation.number == number,
            IssueRelation.other == other,
        )
    )
    if exists is None:
        db.add(IssueRelation(repository=repository, kind=kind, number=number, other=other))
        db.flush()


def remove(db: Session, repository: str, kind: str, number: int, other: int) -> None:
    db.execute(
        delete(IssueRelation).where(
            IssueRelation.repository == repository,
            IssueRelation.kind == kind,
            IssueRelation.number == number,
            IssueRelation.other == other,
        )
    )


def replace_others(
    db: Session,
    repository: str,
    kind: str,
    number: int,
    others: Iterable[int],
    *,
    kept_after: int | None = None,
) -> bool:
    """The reconcile's answer for one issue: exactly `others` (blockers of `number`). A relation
    whose row id is above `kept_after` stays: a webhook mirrored it after GitHub was asked.
    True when the mirror had the relation otherwise."""
    current = {r.other: r.id for r in of(db, repository) if r.kind == kind and r.number == number}
    return _replace(
        db, repository, kind, current, set(others), lambda other: (number, other), kept_after
    )


def replace_sub_issues(
    db: Session,
    repository: str,
    parent: int,
    children: Iterable[int],
    *,
    kept_after: int | None = None,
) -> bool:
    """The reconcile's answer for one parent: exactly `children` are its sub-issues (but for
    those mirrored after `kept_after`, as in `replace_others`)."""
    current = {
        r.number: r.id for r in of(db, repository) if r.kind == SUB_ISSUE and r.other == parent
    }
    return _replace(
        db, repository, SUB_ISSUE, current, set(children), lambda child: (child, parent), kept_after
    )


def _replace(
    db: Session,
    repository: str,
    kind: str,
    current: Mapping[int, int],
    wanted: set[int],
    pair: Callable[[int], tuple[int, int]],
    kept_after: int | None,
) -> bool:
    """Make the related issues `current` (related issue → row id) the `wanted` ones; `pair`
    gives a related issue's (number, other)."""
    for related, row_id in current.items():
        if related not in wanted and (kept_after is None or row_id <= kept_after):
            remove(db, repository, kind, *pair(related))
    for related in wanted - set(current):
        add(db, repository, kind, *pair(related))
    return set(current) != wanted


def newest_id(db: Session, repository: str) -> int:
    """The id of the newest relation row of `repository` (0: none)."""
    query = select(func.max(IssueRelation.id)).where(IssueRelation.repository == repository)
    return int(db.scalar(query) or 0)


def of(db: Session, repository: str) -> list[IssueRelation]:
    query = select(IssueRelation).where(IssueRelation.repository == repository)
    return list(db.scalars(query.order_by(IssueRelation.id)))
