"""The project assistant (issue #15): each repository's conversation with a person, message by
message, and the feature changes it proposed with the person's decision.

Revision ID: 0009_assistant
Revises: 0007_issue_graph
Create Date: 2025-01-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_assistant"
down_revision: str | None = "0007_issue_graph"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assistant_messages_repository", "assistant_messages", ["repository"])
    op.create_table(
        "assistant_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assistant_proposals_repository", "assistant_proposals", ["repository"])


def downgrade() -> None:
    op.drop_index("ix_assistant_proposals_repository", "assistant_proposals")
    op.drop_table("assistant_proposals")
    op.drop_index("ix_assistant_messages_repository", "assistant_messages")
    op.drop_table("assistant_messages")
