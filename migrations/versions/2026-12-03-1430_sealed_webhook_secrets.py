"""Sealed webhook secrets: `clients.webhook_secret` widens to hold `sealed:v1:…` text.

The column keeps legacy plaintext readable; `approvals migrate` seals those rows with
APPROVALS_SECRET_KEY right after upgrading (a migration has no business reading the key).

Revision ID: 7c41e9d2a5f3
Revises: 5a1c0e7d9b21
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c41e9d2a5f3"
down_revision: str | None = "5a1c0e7d9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.String(length=100),
            type_=sa.String(length=255),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=100),
            existing_nullable=True,
        )
