"""Reviewer identity: the step-up a request's policy rule demands.

Revision ID: 5b1c9e7d4f20
Revises: 3d7e1f0a2b64
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1c9e7d4f20"
down_revision: str | None = "3d7e1f0a2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_up", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.drop_column("step_up")
