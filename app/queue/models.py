"""The `jobs` table: one row per session to run (or that ran) for an issue.

A job is `queued` until a worker claims it (`running`, with a lease it renews by heartbeat), then
ends `succeeded`, `failed`, `cancelled` or `superseded`. A job whose lease runs out goes back to
`queued` (taken over) or ends, see `app.queue.store`.

Times are aware UTC datetimes (`UTCDateTime`, shared with the mirror's tables).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.models import UTCDateTime, utcnow
from runner.work_order import WorkKind

KINDS = tuple(kind.value for kind in WorkKind)
EXCLUSIVE_KINDS = tuple(kind.value for kind in WorkKind if kind.exclusive)
STATES = ("queued", "running", "succeeded", "failed", "cancelled", "superseded")
ACTIVE_STATES = ("queued", "running")
TERMINAL_STATES = ("succeeded", "failed", "cancelled", "superseded")

# A failed attempt the infrastructure caused (a kill, a lost lease, a server stopping) does not
# use up one of the job's attempts; after this many of them the job fails all the same.
MAX_INTERRUPTIONS = 5

__all__ = ["ACTIVE_STATES", "KINDS", "STATES", "TERMINAL_STATES", "Job", "utcnow"]


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(200))
    issue_number: Mapped[int] = mapped_column(Integer)
    installation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the decision, as data
    pull_number: Mapped[int | None] = mapped_column(Integer, nullable=True)  # follow-ups
    review_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # follow-ups
    interruptions: Mapped[int] = mapped_column(Integer, default=0)  # see MAX_INTERRUPTIONS
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The check run the current attempt's session opened (recorded as soon as it exists), and
    # those left open by attempts whose worker died: [{"id": int, "head_sha": str}, ...], closed
    # by the next worker.
    check_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    check_run_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    abandoned_check_runs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_jobs_state_not_before", "state", "not_before"),
        Index("ix_jobs_issue", "repository", "issue_number", "state"),
        Index("ix_jobs_installation_state", "installation_id", "state"),
    )

    @property
    def work_kind(self) -> WorkKind:
        return WorkKind(self.kind)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def __repr__(self) -> str:
        return (
            f"Job(id={self.id}, kind={self.kind!r}, {self.repository}#{self.issue_number}, "
            f"state={self.state!r}, attempts={self.attempts})"
        )
