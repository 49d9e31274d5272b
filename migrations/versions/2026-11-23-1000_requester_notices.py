"""Requester notices: one row per (request, event) owed to the requester as a direct message.

Revision ID: 3d7e1f0a2b64
Revises: 9e2b2998e923
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3d7e1f0a2b64"
down_revision: str | None = "9e2b2998e923"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "requester_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("action_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("sent_to", JSON_TYPE, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action_requests.id"],
            name=op.f("fk_requester_notices_action_id_action_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requester_notices")),
        sa.UniqueConstraint(
            "action_id", "event", name=op.f("uq_requester_notices_action_id_event")
        ),
    )
    with op.batch_alter_table("requester_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_requester_notices_action_id"), ["action_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("requester_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requester_notices_action_id"))
    op.drop_table("requester_notices")
