"""Retention: post text and payloads go after ``audit.retention_days``; hashes and the chain stay.

A mention under legal hold, or whose author consented, is kept. Each purge is itself an audit
event (``content_purged``) carrying the content hash, so a dossier can still prove what was said
by anyone who holds the original text.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.audit.chain import append_event, append_events
from monitor.audit.observe import purge_content
from monitor.settings import AuditSettings, Settings
from monitor.store.models import AuditEvent, Mention

PURGE_CHUNK = 500
LEGAL_HOLD_SET = "legal_hold_set"
LEGAL_HOLD_RELEASED = "legal_hold_released"


def apply_retention(session: Session, settings: Settings | AuditSettings, now: datetime) -> int:
    """Purge text/raw of mentions posted more than ``retention_days`` ago; returns how many."""
    audit = settings.audit if isinstance(settings, Settings) else settings
    cutoff = now - timedelta(days=audit.retention_days)
    query = (
        select(Mention)
        .where(
            Mention.created_at < cutoff,
            Mention.purged_at.is_(None),
            Mention.legal_hold.is_(False),
            Mention.consent.is_(False),
        )
        .order_by(Mention.id)
        .limit(PURGE_CHUNK)
    )
    purged = 0
    while batch := list(session.scalars(query)):
        reason = f"retention: posted before {cutoff:%Y-%m-%d} ({audit.retention_days} days)"
        append_events(session, [purge_content(session, mention, now, reason) for mention in batch])
        session.flush()
        purged += len(batch)
    return purged


def set_legal_hold(session: Session, *, mention_id: int, on: bool, actor: str, now: datetime) -> AuditEvent:
    """Put a mention under legal hold (or release it); recorded as an audit event."""
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise LookupError(f"no mention with id {mention_id}")
    mention.legal_hold = on
    payload = {
        "platform": mention.platform,
        "native_id": mention.native_id,
        "brand": mention.brand,
        "legal_hold": on,
        "content_kept": mention.purged_at is None,
        "content_sha256": mention.content_sha256,
    }
    return append_event(
        session,
        kind=LEGAL_HOLD_SET if on else LEGAL_HOLD_RELEASED,
        subject=f"{mention.platform}:{mention.native_id}",
        payload=payload,
        occurred_at=now,
        actor=actor,
        mention_id=mention.id,
    )
