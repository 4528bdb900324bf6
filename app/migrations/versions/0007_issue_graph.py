"""Issue #13: the issue graph mirrored (`issue_relations`: sub-issues and blocked-by) and the
spec issues' feature sequences (`feature_sequences`).

Revision ID: 0007_issue_graph
Revises: 0004_session_events
Create Date: 2025-01-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_issue_graph"
down_revision: str | None = "0004_session_events"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "issue_relations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("other", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository", "kind", "number", "other", name="uq_issue_relations"),
    )
    op.create_index("ix_issue_relations_other", "issue_relations", ["repository", "kind", "other"])
    op.create_table(
        "feature_sequences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("spec_number", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("current_feature", sa.Integer(), nullable=True),
        sa.Column("current_job_id", sa.Integer(), nullable=True),
        sa.Column("base_branch", sa.String(255), nullable=True),
        sa.Column("attempted", sa.JSON(), nullable=False),
        sa.Column("passing_notified", sa.Integer(), nullable=False),
        sa.Column("progress_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_posted", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository", "spec_number", name="uq_feature_sequences_spec"),
    )


def downgrade() -> None:
    op.drop_table("feature_sequences")
    op.drop_index("ix_issue_relations_other", table_name="issue_relations")
    op.drop_table("issue_relations")
