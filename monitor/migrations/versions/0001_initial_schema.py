"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=256), nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('occurred_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_kind', ['kind'], unique=False)
        batch_op.create_index('ix_audit_events_mention', ['mention_id'], unique=False)

    op.create_table('coverage_gaps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('coverage_gaps', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_gaps_source', ['source', 'started_at'], unique=False)

    op.create_table('cursors',
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('brand', sa.String(length=128), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('updated_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'brand')
    )
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=128), nullable=False),
    sa.Column('last_started_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_result', sa.Text(), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('job')
    )
    op.create_table('mentions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('native_id', sa.String(length=512), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('brand', sa.String(length=128), nullable=False),
    sa.Column('author_id', sa.String(length=256), nullable=False),
    sa.Column('author_handle', sa.String(length=256), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=True),
    sa.Column('reply_to_id', sa.String(length=512), nullable=True),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_seen_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('provenance', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('classified_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('routed_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('post_status', sa.String(length=32), nullable=False),
    sa.Column('author_status', sa.String(length=32), nullable=False),
    sa.Column('last_checked_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_live_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('check_count', sa.Integer(), nullable=False),
    sa.Column('purged_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'native_id', name='uq_mentions_platform_native_id')
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_brand_created', ['brand', 'created_at'], unique=False)
        batch_op.create_index('ix_mentions_classified', ['classified_at'], unique=False)
        batch_op.create_index('ix_mentions_next_check', ['next_check_at'], unique=False)

    op.create_table('source_health',
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('paused_until', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_success_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('budget_month', sa.String(length=7), nullable=False),
    sa.Column('reads_this_month', sa.Integer(), nullable=False),
    sa.Column('calls_this_month', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('source_state',
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'key')
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('classifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_version', sa.String(length=256), nullable=False),
    sa.Column('complaint', sa.Boolean(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('risk', sa.Boolean(), nullable=False),
    sa.Column('pii', sa.Boolean(), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index('ix_classifications_mention', ['mention_id', 'id'], unique=False)

    op.create_table('labels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reviewer', sa.String(length=128), nullable=False),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index('ix_labels_mention', ['mention_id'], unique=False)

    op.create_table('routes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('sla_due_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('destination', sa.String(length=128), nullable=False),
    sa.Column('template', sa.String(length=128), nullable=False),
    sa.Column('reply_draft', sa.Text(), nullable=False),
    sa.Column('public_reply', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('snoozed_until', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handed_off_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    sa.Column('approved_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mention_id')
    )
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.create_index('ix_routes_queue_state', ['queue', 'state', 'priority', 'sla_due_at'], unique=False)

    op.create_table('status_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('checked_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('author_status', sa.String(length=32), nullable=False),
    sa.Column('platform_stated', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_checks', schema=None) as batch_op:
        batch_op.create_index('ix_status_checks_mention', ['mention_id', 'checked_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('route_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('destination', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_state_next', ['state', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_next')

    op.drop_table('outbox')
    with op.batch_alter_table('status_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_status_checks_mention')

    op.drop_table('status_checks')
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_index('ix_routes_queue_state')

    op.drop_table('routes')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index('ix_labels_mention')

    op.drop_table('labels')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index('ix_classifications_mention')

    op.drop_table('classifications')
    op.drop_table('users')
    op.drop_table('source_state')
    op.drop_table('source_health')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_next_check')
        batch_op.drop_index('ix_mentions_classified')
        batch_op.drop_index('ix_mentions_brand_created')

    op.drop_table('mentions')
    op.drop_table('job_runs')
    op.drop_table('cursors')
    with op.batch_alter_table('coverage_gaps', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_gaps_source')

    op.drop_table('coverage_gaps')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_mention')
        batch_op.drop_index('ix_audit_events_kind')

    op.drop_table('audit_events')
