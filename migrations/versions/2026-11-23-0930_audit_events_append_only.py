"""Make audit_events append-only on PostgreSQL: UPDATE, DELETE and TRUNCATE are refused.

Revision ID: 5b8f2d3c9a41
Revises: 86070d12e9de
Create Date: 2026-11-23 09:30:00.000000

The trigger stops the application role (and mistakes); a superuser can still bypass it
(`SET session_replication_role = replica`), which is what the hash chain and the signed
checkpoints are for. SQLite (the embedded, single-user default) gets no trigger: whoever
holds the file can rewrite it anyway.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b8f2d3c9a41"
down_revision: str | None = "86070d12e9de"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
