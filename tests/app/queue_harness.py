"""A real database (SQLite file or PostgreSQL) for queue and worker tests, migrated like the
server's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db.engine import Database, open_database
from app.queue import store
from app.queue.models import Job

REPO = "octo/hello"


def open_db(where: Path | str, name: str = "autocoder.db") -> Database:
    """A migrated database: `where` is a database URL (the `database_url` fixture: SQLite or
    PostgreSQL), or a directory for a SQLite file named `name`."""
    url = where if isinstance(where, str) else f"sqlite:///{where / name}"
    return open_database(url)


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
    pull_number: int | None = None,
) -> Job | None:
    job = store.enqueue(
        db,
        kind=kind,
        repository=repository,
        issue_number=issue,
        installation_id=installation_id,
        actor="mona",
        payload=payload or {},
        pull_number=pull_number,
        delivery_id=delivery_id,
        max_attempts=max_attempts,
    )
    db.commit()
    return job
