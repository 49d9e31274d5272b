"""Outbox rows carry the request id and trace context of the HTTP request that wrote them.

Revision ID: 5a1c0e7d9b21
Revises: 3d7e1f0a2b64
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1c0e7d9b21"
down_revision: str | None = "3d7e1f0a2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("traceparent", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")
        batch.drop_column("request_id")
