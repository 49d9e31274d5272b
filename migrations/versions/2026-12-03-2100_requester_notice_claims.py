"""Requester notices are claimed for a lease while their messages are sent, instead of a row
lock held across the chat platform's HTTP calls (on SQLite that lock was the whole database's).

Revision ID: 3e8b6f1a9c42
Revises: 7c41d9e2a0b5
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8b6f1a9c42"
down_revision: str | None = "7c41d9e2a0b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requester_notices") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requester_notices") as batch:
        batch.drop_column("claimed_until")
