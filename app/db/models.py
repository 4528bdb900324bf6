"""The mirror: what the App knows of GitHub (installations, repositories, issues as features), the
sessions it ran and the webhook deliveries it received. GitHub stays the source of truth; these
tables are kept current from webhooks and reconciled periodically.

The job queue's table lives with the queue (`app.queue.models`), on the same `Base`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.db.base import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone; it is put back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AgentStatus(enum.StrEnum):
    """Where autocoder is with an issue."""

    PENDING = "pending"  # nothing queued (never triggered, or cancelled)
    QUEUED = "queued"
    RUNNING = "running"
    PR_OPEN = "pr_open"  # a session ended with a pull request that is still open
    DONE = "done"
    FAILED = "failed"


class DeliveryStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class Installation(Base):
    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_login: Mapped[str | None] = mapped_column(String(255))
    account_type: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    github_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(String(255), unique=True)
    installation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("installations.id", ondelete="SET NULL"), index=True
    )
    private: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Conditional listing of labelled issues (reconcile): the last answer's ETag and the newest
    # `updated_at` seen, sent back as `If-None-Match` and `since`.
    issues_etag: Mapped[str | None] = mapped_column(String(255))
    issues_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Feature(Base):
    """An issue, as a feature autocoder may work on."""

    __tablename__ = "features"
    __table_args__ = (UniqueConstraint("repository", "number", name="uq_features_repo_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository: Mapped[str] = mapped_column(String(255), index=True)  # owner/name
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")
    author: Mapped[str | None] = mapped_column(String(255))
    html_url: Mapped[str | None] = mapped_column(String(1024))
    agent_status: Mapped[str] = mapped_column(String(16), default=AgentStatus.PENDING.value)
    etag: Mapped[str | None] = mapped_column(String(255))
    github_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A trigger label refused for want of write access: the labels `trigger_refused_by` added
    # up to `trigger_refused_through` (GitHub's time) never start work through the reconcile.
    trigger_refused_by: Mapped[str | None] = mapped_column(String(255))
    trigger_refused_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SessionRecord(Base):
    """One coding session (a run of the runner for a job)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_repo_issue", "repository", "issue_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    repository: Mapped[str] = mapped_column(String(255))
    issue_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32), default="start")
    engine: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(255))
    runner_session_id: Mapped[str | None] = mapped_column(String(64))
    turns: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    conclusion: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(String(255))
    pull_request_number: Mapped[int | None] = mapped_column(Integer)
    pull_request_url: Mapped[str | None] = mapped_column(String(1024))
    check_run_url: Mapped[str | None] = mapped_column(String(1024))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    log: Mapped[str] = mapped_column(Text, default="")


class SessionEventRow(Base):
    """One event of one attempt's session (`runner.events`), in the order it came: the live log
    and the record of what the attempt did (check runs opened, pushes, its pull request)."""

    __tablename__ = "session_events"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", "seq", name="uq_session_events_job_attempt_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """A webhook delivery, by GitHub's `X-GitHub-Delivery` id (a redelivery carries the same)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    repository: Mapped[str | None] = mapped_column(String(255))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.RECEIVED.value)
    outcome: Mapped[str | None] = mapped_column(Text)  # what was done, e.g. "queued start job 3"
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IssueRelation(Base):
    """A native relation between two issues of one repository (issue #13), mirrored from the
    `sub_issues` / `issue_dependencies` webhooks and the reconcile: `kind` "sub_issue" (`number`
    is a sub-issue of `other`) or "blocked_by" (`number` is blocked by `other`)."""

    __tablename__ = "issue_relations"
    __table_args__ = (
        UniqueConstraint("repository", "kind", "number", "other", name="uq_issue_relations"),
        Index("ix_issue_relations_other", "repository", "kind", "other"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    other: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeatureSequence(Base):
    """A spec issue's features run one after another (`autocoder:auto`, issue #13): whether it
    goes on, the feature running now, the features already tried in this run (never twice),
    the branch the next one stacks on, and the spec's progress comment."""

    __tablename__ = "feature_sequences"
    __table_args__ = (
        UniqueConstraint("repository", "spec_number", name="uq_feature_sequences_spec"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository: Mapped[str] = mapped_column(String(255))
    spec_number: Mapped[int] = mapped_column(Integer)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="running")  # running|paused|finished
    mode: Mapped[str] = mapped_column(String(16), default="stacked")  # stacked|merged
    current_feature: Mapped[int | None] = mapped_column(Integer)
    current_job_id: Mapped[int | None] = mapped_column(Integer)
    base_branch: Mapped[str | None] = mapped_column(String(255))
    attempted: Mapped[list[int]] = mapped_column(JSON, default=list)
    passing_notified: Mapped[int] = mapped_column(Integer, default=0)
    progress_comment_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_posted: Mapped[str | None] = mapped_column(Text)  # the body last posted
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
