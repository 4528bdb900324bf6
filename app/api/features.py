"""`GET /api/repos/{owner}/{repo}/features` (with the issue graph and the specs' sequences) and
`GET /api/sessions/{id}`: the mirror, read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from app import mirror
from app.db.models import IssueRelation, SessionRecord
from app.state import State

router = APIRouter(prefix="/api")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def session_summary(row: SessionRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "job_id": row.job_id,
        "repository": row.repository,
        "issue_number": row.issue_number,
        "kind": row.kind,
        "engine": row.engine,
        "model": row.model,
        "turns": row.turns,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": row.cost_usd,
        "conclusion": row.conclusion,
        "error": row.error,
        "branch": row.branch,
        "pull_request_number": row.pull_request_number,
        "pull_request_url": row.pull_request_url,
        "check_run_url": row.check_run_url,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }


@router.get("/repos/{owner}/{repo}/features")
def list_features(owner: str, repo: str, state: State) -> dict[str, Any]:
    repository = f"{owner}/{repo}"
    from app.queue.store import active_job
    from app.sequence import relations, sequencer

    with state.database.sessions() as db:
        graph = relations.of(db, repository)
        items = []
        for feature in mirror.features_of(db, repository):
            session = mirror.latest_session(db, repository, feature.number)
            job = active_job(db, repository, feature.number)
            items.append(
                {
                    "number": feature.number,
                    "title": feature.title,
                    "state": feature.state,
                    "labels": list(feature.labels),
                    "author": feature.author,
                    "html_url": feature.html_url,
                    "agent_status": feature.agent_status,
                    "updated_at": _iso(feature.github_updated_at),
                    "active_job": (
                        {"id": job.id, "kind": job.kind, "state": job.state} if job else None
                    ),
                    "last_session": session_summary(session) if session else None,
                    "sub_issue_of": _others(graph, "sub_issue", feature.number),
                    "blocked_by": _others(graph, "blocked_by", feature.number),
                }
            )
        sequences = [
            {
                "spec": row.spec_number,
                "state": row.state,
                "mode": row.mode,
                "running": row.current_feature,
                "base_branch": row.base_branch,
                "attempted": list(row.attempted),
                "note": row.note,
            }
            for row in sequencer.all_sequences(db)
            if row.repository == repository
        ]
    return {"repository": repository, "features": items, "sequences": sequences}


def _others(graph: list[IssueRelation], kind: str, number: int) -> list[int]:
    """The issue graph around `number`: its parents (sub_issue) or its blockers (blocked_by)."""
    return sorted(r.other for r in graph if r.kind == kind and r.number == number)


@router.get("/sessions/{session_id}")
def get_session(session_id: int, state: State) -> dict[str, Any]:
    with state.database.sessions() as db:
        row = db.scalar(select(SessionRecord).where(SessionRecord.id == session_id))
        if row is None:
            raise HTTPException(404, f"no session {session_id}")
        return {**session_summary(row), "log": row.log}
