"""Refused triggers: who added a trigger label without write access, and up to when, so the
reconcile never starts work for it (`features.trigger_refused_by`, `trigger_refused_through`).

Revision ID: 0003_trigger_refusals
Revises: 0002_jobs
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_trigger_refusals"
down_revision: str | None = "0002_jobs"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.add_column(sa.Column("trigger_refused_by", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column("trigger_refused_through", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.drop_column("trigger_refused_through")
        batch.drop_column("trigger_refused_by")
