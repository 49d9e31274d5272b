"""Action requests carry the execution outcome their requester reported (succeeded / failed).

Revision ID: 7c4a9e2d51b8
Revises: 7c41e9d2a5f3
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c4a9e2d51b8"
down_revision: str | None = "7c41e9d2a5f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_requests") as batch:
        batch.add_column(sa.Column("execution", sa.String(length=20), nullable=True))
    # Backfill inside the schema revision on purpose: without it, requests executed before this
    # revision would read as "not reported" although their report is stored on the token.
    op.execute(
        "UPDATE action_requests SET execution = ("
        "SELECT outcome FROM release_tokens WHERE release_tokens.action_id = action_requests.id"
        ") WHERE status = 'executed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("action_requests") as batch:
        batch.drop_column("execution")
