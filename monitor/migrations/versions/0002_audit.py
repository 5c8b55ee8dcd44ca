"""moderation audit: chain head, lockouts, staff actions, append-only triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE on
``audit_events`` (and TRUNCATE on PostgreSQL), so a bug or a careless SQL session cannot
rewrite history; someone who drops the triggers on purpose is caught by ``audit verify``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = monitor.store.models.UTCDateTime(timezone=True)

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)


def upgrade() -> None:
    _create_chain_head()
    _create_lockouts()
    _create_staff_actions()
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def _create_chain_head() -> None:
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Seed from whatever the log already holds (empty on a new database).
    last = op.get_bind().execute(
        sa.text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, digest = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": digest}])


def _create_lockouts() -> None:
    op.create_table(
        "lockouts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("mention_id", BIG_ID, nullable=True),
        sa.Column("account", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=128), nullable=False),
        sa.Column("locked_at", UTC_DATETIME, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("audit_seq", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lockouts_mention", "lockouts", ["mention_id"], unique=False)


def _create_staff_actions() -> None:
    op.create_table(
        "staff_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("mention_id", BIG_ID, nullable=True),
        sa.Column("content_ref", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("decision_visibility", sa.String(length=64), nullable=True),
        sa.Column("decision_account", sa.String(length=64), nullable=True),
        sa.Column("decision_ground", sa.String(length=64), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("automated_decision", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("content_date", UTC_DATETIME, nullable=True),
        sa.Column("application_date", UTC_DATETIME, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("audit_seq", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_actions_mention", "staff_actions", ["mention_id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_staff_actions_mention", table_name="staff_actions")
    op.drop_table("staff_actions")
    op.drop_index("ix_lockouts_mention", table_name="lockouts")
    op.drop_table("lockouts")
    op.drop_table("audit_chain_head")
