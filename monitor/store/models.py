"""The database schema (SQLAlchemy 2 declarative). Changes go through Alembic migrations.

Times are stored as timezone-aware UTC (``UTCDateTime``) on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: complaintwatch stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
#: Autoincrementing 64-bit keys that SQLite still treats as its rowid.
BigID = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Mention(Base):
    """One collected post, its raw payload as received, and its current audit state."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "native_id", name="uq_mentions_platform_native_id"),
        Index("ix_mentions_brand_created", "brand", "created_at"),
        Index("ix_mentions_next_check", "next_check_at"),
        Index("ix_mentions_classified", "classified_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(128))
    brand: Mapped[str] = mapped_column(String(128))
    author_id: Mapped[str] = mapped_column(String(256))
    author_handle: Mapped[str] = mapped_column(String(256), default="")
    text: Mapped[str | None] = mapped_column(Text, nullable=True)  # None once purged (hash_only)
    content_sha256: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reply_to_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Pipeline state
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Audit state (latest observation; the full history is in status_checks and audit_events)
    post_status: Mapped[str] = mapped_column(String(32), default="live")
    author_status: Mapped[str] = mapped_column(String(32), default="active")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_count: Mapped[int] = mapped_column(Integer, default=0)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)


class Classification(Base):
    """One tagging of a mention by one model version; the newest row is current."""

    __tablename__ = "classifications"
    __table_args__ = (Index("ix_classifications_mention", "mention_id", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(256))
    complaint: Mapped[bool] = mapped_column(Boolean)
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    risk: Mapped[bool] = mapped_column(Boolean, default=False)  # any legal-risk tag
    pii: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONType)
    scores: Mapped[dict[str, Any]] = mapped_column(JSONType)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusCheck(Base):
    """One re-check of one post: the coverage record (a gap is never 'still live')."""

    __tablename__ = "status_checks"
    __table_args__ = (Index("ix_status_checks_mention", "mention_id", "checked_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(128))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))
    author_status: Mapped[str] = mapped_column(String(32))
    platform_stated: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class AuditEvent(Base):
    """Append-only, hash-chained log of everything an advocate may need to prove."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_mention", "mention_id"), Index("ix_audit_events_kind", "kind"))

    seq: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    mention_id: Mapped[int | None] = mapped_column(BigID, nullable=True)  # no FK: the log outlives purges
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128), default="system")
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly what was hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Route(Base):
    """The routing decision for one complaint and its case state in the triage queue."""

    __tablename__ = "routes"
    __table_args__ = (Index("ix_routes_queue_state", "queue", "state", "priority", "sla_due_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), unique=True)
    rule: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    destination: Mapped[str] = mapped_column(String(128), default="")
    template: Mapped[str] = mapped_column(String(128), default="")
    reply_draft: Mapped[str] = mapped_column(Text, default="")
    public_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(
        String(32), default="open"
    )  # open|assigned|snoozed|handed_off|resolved
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxMessage(Base):
    """Transactional outbox: written with the routing decision, delivered by a sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id", ondelete="SET NULL"), nullable=True)
    destination: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="system")


class Label(Base):
    """A reviewer's correction of one tag: training data for the next model."""

    __tablename__ = "labels"
    __table_args__ = (Index("ix_labels_mention", "mention_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSONType)
    reviewer: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cursor(Base):
    """Where each (source, brand) search resumes; written in the same transaction as its posts."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    brand: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceState(Base):
    """Small key-value store an adapter keeps across restarts (sessions, clocks)."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SourceHealth(Base):
    """Per source: ok / paused (rate limit) / failing (credentials), and budget use."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="ok")
    message: Mapped[str] = mapped_column(Text, default="")
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    budget_month: Mapped[str] = mapped_column(String(7), default="")
    reads_this_month: Mapped[int] = mapped_column(Integer, default=0)
    calls_this_month: Mapped[int] = mapped_column(Integer, default=0)


class CoverageGap(Base):
    """A period in which a source could not collect or re-check (so 'not seen' ≠ 'not deleted')."""

    __tablename__ = "coverage_gaps"
    __table_args__ = (Index("ix_coverage_gaps_source", "source", "started_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # collect|recheck
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobRun(Base):
    """Last run of each scheduled job, for `complaintwatch status` and the dashboard."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_result: Mapped[str] = mapped_column(Text, default="")
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A local dashboard account (OpenID Connect users are created on first sign-in)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # agent|advocate|manager|admin
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditChainHead(Base):
    """The one row naming the newest audit event: locked by every append, so no two share a prev_hash."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class Lockout(Base):
    """An account lockout in the brand's own systems, reported by staff or the consumer."""

    __tablename__ = "lockouts"
    __table_args__ = (Index("ix_lockouts_mention", "mention_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True
    )
    account: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(128))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    audit_seq: Mapped[int] = mapped_column(BigID)


class StaffAction(Base):
    """A moderation action by the brand's team, in the fields of an EU DSA statement of reasons."""

    __tablename__ = "staff_actions"
    __table_args__ = (Index("ix_staff_actions_mention", "mention_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True
    )
    content_ref: Mapped[str] = mapped_column(Text)  # URL or native id of what was acted on
    actor: Mapped[str] = mapped_column(String(128))
    decision_visibility: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_account: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_ground: Mapped[str] = mapped_column(String(64))
    legal_ground: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    automated_detection: Mapped[bool] = mapped_column(Boolean, default=False)
    automated_decision: Mapped[str] = mapped_column(String(64))
    source_type: Mapped[str] = mapped_column(String(64))
    content_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    application_date: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    audit_seq: Mapped[int] = mapped_column(BigID)
