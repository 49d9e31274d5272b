"""Drop six single-column indexes whose column already leads a unique key or a composite index.

Each index costs a B-tree insert on every row written, and a submit writes a request and a
requester notice: `ix_action_requests_status` is covered by (status, expires_at),
`ix_action_requests_client_id` by the unique (client_id, idempotency_key), and each
`…_action_id` by its table's unique (action_id, …). Both PostgreSQL and SQLite use a
multi-column index for a filter on its leading column, and PostgreSQL's foreign-key checks
on delete use it the same way.

Revision ID: 9d2f4a6c8e13
Revises: 3e8b6f1a9c42
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d2f4a6c8e13"
down_revision: str | None = "3e8b6f1a9c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COVERED = {
    "action_requests": ("status", "client_id"),
    "votes": ("action_id",),
    "card_messages": ("action_id",),
    "requester_notices": ("action_id",),
    "callback_deliveries": ("action_id",),
}


def upgrade() -> None:
    for table, columns in _COVERED.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    for table, columns in _COVERED.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
