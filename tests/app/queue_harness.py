"""A real SQLite database file for queue and worker tests, migrated like the server's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db.engine import Database, open_database
from app.queue import store
from app.queue.models import Job

REPO = "octo/hello"


def open_db(tmp_path: Path, name: str = "autocoder.db") -> Database:
    return open_database(f"sqlite:///{tmp_path / name}")


def add_job(
    db: Session,
    issue: int,
    *,
    kind: str = "start",
    repository: str = REPO,
    installation_id: int | None = 1,
    delivery_id: str | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = 3,
) -> Job | None:
    job = store.enqueue(
        db,
        kind=kind,
        repository=repository,
        issue_number=issue,
        installation_id=installation_id,
        actor="mona",
        payload=payload or {},
        delivery_id=delivery_id,
        max_attempts=max_attempts,
    )
    db.commit()
    return job
