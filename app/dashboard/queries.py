"""What the dashboard reads from the database: the installations and their repositories, one
repository's board, one job. A handful of queries per page (no query per card); results are
plain dataclasses and dicts, so nothing lazy escapes the session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.dashboard.board import Board, CardInput, build_board
from app.db.models import Feature, Installation, Repository, SessionRecord
from app.queue.models import ACTIVE_STATES, Job


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def installations(db: Session) -> list[dict[str, Any]]:
    """Every installation with its active repositories, and repositories of none (a mirror
    filled by `autocoder sync` or the reconcile before the installation event arrived)."""
    repos = db.scalars(
        select(Repository).where(Repository.active.is_(True)).order_by(Repository.full_name)
    ).all()
    by_installation: dict[int | None, list[str]] = {}
    for repo in repos:
        by_installation.setdefault(repo.installation_id, []).append(repo.full_name)
    result = []
    for inst in db.scalars(select(Installation).order_by(Installation.id)).all():
        result.append(
            {
                "id": inst.id,
                "account": inst.account_login,
                "active": inst.active and not inst.suspended,
                "repositories": by_installation.pop(inst.id, []),
            }
        )
    for installation_id, names in by_installation.items():
        result.append(
            {"id": installation_id, "account": None, "active": True, "repositories": names}
        )
    return result


def only_repositories(
    found: list[dict[str, Any]], allowed: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """`installations()` narrowed to the allowed repositories, without installations left empty."""
    narrowed = []
    for inst in found:
        names = [name for name in inst["repositories"] if allowed(name)]
        if names:
            narrowed.append({**inst, "repositories": names})
    return narrowed


def repository(db: Session, full_name: str) -> Repository | None:
    return db.scalar(select(Repository).where(Repository.full_name == full_name))


def board_of(db: Session, full_name: str) -> Board:
    features = db.scalars(
        select(Feature).where(Feature.repository == full_name).order_by(Feature.number)
    ).all()
    jobs = db.scalars(select(Job).where(Job.repository == full_name).order_by(Job.id)).all()
    sessions = db.scalars(
        select(SessionRecord)
        .where(SessionRecord.repository == full_name)
        .order_by(SessionRecord.id)
    ).all()
    latest_job: dict[int, Job] = {}
    active: dict[int, Job] = {}
    for job in jobs:
        latest_job[job.issue_number] = job
        if job.state in ACTIVE_STATES:
            current = active.get(job.issue_number)
            if current is None or (job.state == "running" and current.state != "running"):
                active[job.issue_number] = job
    latest_session = {row.issue_number: row for row in sessions}
    items = []
    for feature in features:
        shown = active.get(feature.number) or latest_job.get(feature.number)
        session = latest_session.get(feature.number)
        items.append(
            CardInput(
                number=feature.number,
                title=feature.title,
                agent_status=feature.agent_status,
                issue_state=feature.state,
                html_url=feature.html_url,
                job_id=shown.id if shown is not None else None,
                job_state=(
                    shown.state if shown is not None and shown.state in ACTIVE_STATES else None
                ),
                last_conclusion=session.conclusion if session is not None else None,
                pull_request_url=session.pull_request_url if session is not None else None,
                cost_usd=session.cost_usd if session is not None else 0.0,
            )
        )
    return build_board(full_name, items)


def board_json(board: Board) -> dict[str, Any]:
    return {
        "repository": board.repository,
        "passing": board.passing,
        "total": board.total,
        "columns": [
            {
                "id": column.value,
                "title": column.heading,
                "cards": [
                    {
                        "number": card.number,
                        "title": card.title,
                        "html_url": card.html_url,
                        "job_id": card.job_id,
                        "pull_request_url": card.pull_request_url,
                        "last_conclusion": card.last_conclusion,
                        "cost_usd": card.cost_usd,
                        "actions": [
                            name
                            for name, allowed in (
                                ("start", card.can_start),
                                ("stop", card.can_stop),
                                ("retry", card.can_retry),
                            )
                            if allowed
                        ],
                    }
                    for card in cards
                ],
            }
            for column, cards in board.columns
        ],
    }


def job_json(db: Session, job_id: int) -> dict[str, Any] | None:
    job = db.get(Job, job_id, populate_existing=True)
    if job is None:
        return None
    feature = db.scalar(
        select(Feature).where(
            Feature.repository == job.repository, Feature.number == job.issue_number
        )
    )
    session = db.scalar(
        select(SessionRecord)
        .where(SessionRecord.job_id == job.id)
        .order_by(SessionRecord.id.desc())
        .limit(1)
    )
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "repository": job.repository,
        "issue_number": job.issue_number,
        "title": feature.title if feature is not None else "",
        "actor": job.actor,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
        "conclusion": session.conclusion if session is not None else None,
        "pull_request_url": session.pull_request_url if session is not None else None,
        "check_run_url": session.check_run_url if session is not None else None,
        "cost_usd": session.cost_usd if session is not None else 0.0,
        "turns": session.turns if session is not None else 0,
    }


def job_state(db: Session, job_id: int) -> str | None:
    return db.scalar(select(Job.state).where(Job.id == job_id))


def graph_of(db: Session, full_name: str) -> dict[str, dict[str, list[int]]]:
    """What blocks what among the repository's issues, and which are sub-issues of which
    (issue #13's mirror of GitHub's relations): issue number → the numbers it relates to."""
    from app.db.models import IssueRelation

    graph: dict[str, dict[str, list[int]]] = {"blocked_by": {}, "blocks": {}, "sub_issue_of": {}}
    rows = db.scalars(
        select(IssueRelation)
        .where(IssueRelation.repository == full_name)
        .order_by(IssueRelation.number, IssueRelation.other)
    ).all()
    for row in rows:
        if row.kind == "blocked_by":
            graph["blocked_by"].setdefault(str(row.number), []).append(row.other)
            graph["blocks"].setdefault(str(row.other), []).append(row.number)
        elif row.kind == "sub_issue":
            graph["sub_issue_of"].setdefault(str(row.number), []).append(row.other)
    return graph
