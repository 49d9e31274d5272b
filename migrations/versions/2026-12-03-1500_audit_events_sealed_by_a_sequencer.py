"""Audit events are appended unsealed and sealed into the chain later by one sequencer.

Revision ID: 7c41d9e2a0b5
Revises: 5b1c9e7d4f20
Create Date: 2026-12-03 14:15:00

`id` (insertion order) becomes the primary key; `seq`, `prev_hash` and `hash` may be NULL
until the sequencer seals the row. Existing rows keep id = seq. On PostgreSQL the append-only
trigger now allows exactly one change: sealing an unsealed row (setting seq and both hashes,
nothing else); and an insert must arrive unsealed. Copying the rows (SQLite) and `id = seq`
(PostgreSQL) are data moves inside this schema revision because the new primary key cannot
exist without them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c41d9e2a0b5"
down_revision: str | None = "5b1c9e7d4f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INDEXED = ("action_id", "actor", "event_type", "occurred_at")

SEAL_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.seq IS NULL AND NEW.prev_hash IS NULL AND NEW.hash IS NULL THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'UPDATE'
        AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
        AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
        AND NEW.id = OLD.id
        AND NEW.event_type = OLD.event_type
        AND NEW.occurred_at = OLD.occurred_at
        AND NEW.actor = OLD.actor
        AND NEW.action_id IS NOT DISTINCT FROM OLD.action_id
        AND NEW.payload = OLD.payload THEN
        RETURN NEW;  -- sealing: the one change an event ever gets
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        _upgrade_postgres()
    else:
        _upgrade_sqlite()


def _upgrade_postgres() -> None:
    op.execute("DROP TRIGGER audit_events_no_change ON audit_events")
    op.execute("ALTER TABLE audit_events ADD COLUMN id BIGINT")
    op.execute("UPDATE audit_events SET id = seq")
    op.execute("ALTER TABLE audit_events ALTER COLUMN id SET NOT NULL")
    op.execute("ALTER TABLE audit_events DROP CONSTRAINT pk_audit_events")
    op.execute("ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id)")
    # seq was a BIGSERIAL: only the sequencer numbers events now, never a column default.
    op.execute("ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT")
    op.execute("DROP SEQUENCE IF EXISTS audit_events_seq_seq")
    op.execute("CREATE SEQUENCE audit_events_id_seq OWNED BY audit_events.id")
    op.execute(
        "SELECT setval('audit_events_id_seq', COALESCE((SELECT max(id) FROM audit_events), 0) + 1,"
        " false)"
    )
    op.execute(
        "ALTER TABLE audit_events ALTER COLUMN id SET DEFAULT nextval('audit_events_id_seq')"
    )
    for column in ("seq", "prev_hash", "hash"):
        op.execute(f"ALTER TABLE audit_events ALTER COLUMN {column} DROP NOT NULL")
    op.execute("ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_seq UNIQUE (seq)")
    op.execute("CREATE INDEX ix_audit_events_unsealed ON audit_events (id) WHERE seq IS NULL")
    op.execute(SEAL_ONLY)
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE INSERT OR UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )


def _upgrade_sqlite() -> None:
    for column in INDEXED:
        op.drop_index(f"ix_audit_events_{column}", table_name="audit_events")
    op.rename_table("audit_events", "audit_events_unchained_copy")
    op.create_table(
        "audit_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("seq", ID, nullable=True),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action_id", sa.String(length=36), nullable=True),
        sa.Column("payload", JSON_TYPE, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
        sa.UniqueConstraint("seq", name="uq_audit_events_seq"),
    )
    op.execute(
        "INSERT INTO audit_events (id, seq, event_type, occurred_at, actor, action_id, payload,"
        " prev_hash, hash) SELECT seq, seq, event_type, occurred_at, actor, action_id, payload,"
        " prev_hash, hash FROM audit_events_unchained_copy"
    )
    op.drop_table("audit_events_unchained_copy")
    for column in INDEXED:
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    op.create_index(
        "ix_audit_events_unsealed", "audit_events", ["id"], sqlite_where=sa.text("seq IS NULL")
    )


def downgrade() -> None:
    # Unsealed events cannot go back to a table that requires a seq: seal them first
    # (`approvals audit verify` runs the sequencer once).
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_change ON audit_events")
        op.execute(APPEND_ONLY)
        op.execute("DROP INDEX ix_audit_events_unsealed")
        op.execute("ALTER TABLE audit_events DROP CONSTRAINT uq_audit_events_seq")
        for column in ("seq", "prev_hash", "hash"):
            op.execute(f"ALTER TABLE audit_events ALTER COLUMN {column} SET NOT NULL")
        op.execute("ALTER TABLE audit_events DROP CONSTRAINT pk_audit_events")
        op.execute("ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (seq)")
        op.execute("ALTER TABLE audit_events DROP COLUMN id")
        op.execute("CREATE SEQUENCE audit_events_seq_seq OWNED BY audit_events.seq")
        op.execute(
            "SELECT setval('audit_events_seq_seq', "
            "COALESCE((SELECT max(seq) FROM audit_events), 0) + 1, false)"
        )
        op.execute(
            "ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq_seq')"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        return
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    with op.batch_alter_table("audit_events", recreate="always") as batch_op:
        batch_op.drop_constraint("uq_audit_events_seq", type_="unique")
        batch_op.drop_column("id")
        batch_op.alter_column("seq", existing_type=ID, nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch_op.create_primary_key("pk_audit_events", ["seq"])
