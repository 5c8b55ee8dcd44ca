"""Seed helpers for the dashboard, query and browser tests: real rows through the real models."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.store.models import Classification, Mention, Route

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def add_mention(
    session: Session,
    text: str,
    *,
    brand: str = "Acme",
    platform: str = "replay",
    lang: str = "en",
    author: str = "customer",
    created_at: datetime = NOW,
    post_status: str = "live",
) -> Mention:
    native_id = f"post-{next(_ids)}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    mention = Mention(
        platform=platform,
        native_id=native_id,
        source=f"{platform}-test",
        brand=brand,
        author_id=f"id-{author}",
        author_handle=author,
        text=text,
        content_sha256=digest,
        url=f"https://example.test/{platform}/{native_id}",
        lang=lang,
        created_at=created_at,
        first_seen_at=created_at,
        raw={"text": text},
        raw_sha256=digest,
        provenance={"source": f"{platform}-test"},
        post_status=post_status,
        classified_at=created_at,
    )
    session.add(mention)
    session.flush()
    return mention


def add_classification(
    session: Session,
    mention: Mention,
    *,
    complaint: bool = True,
    topic: str | None = "billing",
    pii: Sequence[dict[str, Any]] = (),
    evidence: dict[str, Any] | None = None,
    legal_threat: bool = False,
    model_version: str = "test-model",
) -> Classification:
    tags = {
        "complaint": complaint,
        "topic": topic,
        "legal_threat": legal_threat,
        "regulator": False,
        "defamation_risk": False,
        "insult": False,
        "pii": list(pii),
        "lang": mention.lang,
        "truncated": False,
    }
    tagging = Classification(
        mention_id=mention.id,
        model_version=model_version,
        complaint=complaint,
        topic=topic,
        risk=legal_threat,
        pii=bool(pii),
        tags=tags,
        scores={"complaint": 0.9 if complaint else 0.1},
        evidence=evidence or {},
        created_at=mention.created_at,
    )
    session.add(tagging)
    session.flush()
    return tagging


def add_case(
    session: Session,
    text: str,
    *,
    priority: int = 3,
    sla_minutes: int = 240,
    state: str = "open",
    queue: str = "support",
    assignee: str | None = None,
    reply_draft: str = "Sorry to hear that, please send us a DM.",
    first_response_after: timedelta | None = None,
    handoff_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
    snoozed_until: datetime | None = None,
    **mention_fields: Any,
) -> tuple[Mention, Classification, Route]:
    """A mention, its classification and its route (tag options go to :func:`add_classification`)."""
    tag_options = {
        k: mention_fields.pop(k)
        for k in ("complaint", "topic", "pii", "evidence", "legal_threat")
        if k in mention_fields
    }
    mention = add_mention(session, text, **mention_fields)
    tagging = add_classification(session, mention, **tag_options)
    created = mention.created_at

    def after(delta: timedelta | None) -> datetime | None:
        return created + delta if delta is not None else None

    route = Route(
        mention_id=mention.id,
        rule="support",
        queue=queue,
        priority=priority,
        sla_due_at=created + timedelta(minutes=sla_minutes),
        destination="",
        template="support_dm",
        reply_draft=reply_draft,
        public_reply=True,
        state=state,
        assignee=assignee,
        snoozed_until=snoozed_until,
        created_at=created,
        first_response_at=after(first_response_after),
        handed_off_at=after(handoff_after),
        resolved_at=after(resolved_after),
    )
    session.add(route)
    session.flush()
    return mention, tagging, route
