"""The worker owns the attempt: the session's event stream (`session_events`), the work order
as real columns on the job (`pull_number`, `review_id` instead of keys read from `payload`),
and `interruptions` (failed attempts the infrastructure caused, which do not use up attempts).

Revision ID: 0004_session_events
Revises: 0003_trigger_refusals
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_session_events"
down_revision: str | None = "0003_trigger_refusals"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "session_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "attempt", "seq", name="uq_session_events_job_attempt_seq"),
    )
    op.create_index("ix_session_events_job_id", "session_events", ["job_id"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("pull_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("review_id", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("interruptions", sa.Integer(), nullable=False, server_default="0")
        )
    jobs = sa.table(
        "jobs",
        sa.column("id", sa.Integer()),
        sa.column("payload", sa.JSON()),
        sa.column("pull_number", sa.Integer()),
        sa.column("review_id", sa.BigInteger()),
    )
    connection = op.get_bind()
    for job_id, payload in connection.execute(sa.select(jobs.c.id, jobs.c.payload)).all():
        if not isinstance(payload, dict):
            continue
        pull, review = payload.get("pull_number"), payload.get("review_id")
        if isinstance(pull, int) or isinstance(review, int):
            connection.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    pull_number=pull if isinstance(pull, int) else None,
                    review_id=review if isinstance(review, int) else None,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("interruptions")
        batch.drop_column("review_id")
        batch.drop_column("pull_number")
    op.drop_index("ix_session_events_job_id", table_name="session_events")
    op.drop_table("session_events")
