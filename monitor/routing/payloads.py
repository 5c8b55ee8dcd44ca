"""What an outbox message carries: captured when the decision is made, delivered as is later.

A private hand-off carries the post's text (the point of a private channel) but nothing from the
raw platform payload and no author id beyond the handle. A public reply carries only the masked
reply text and where to post it.
"""

from __future__ import annotations

from typing import Any

from monitor.routing.rules import RISK_TAGS
from monitor.routing.templates import ticket_reference
from monitor.store.models import Classification, Mention, Route

HANDOFF = "handoff"
REPLY = "reply"
PURPOSES = (HANDOFF, REPLY)


def handoff_payload(route: Route, mention: Mention, tagging: Classification | None) -> dict[str, Any]:
    """The case as a helpdesk needs it: reference, urgency, the post and its tags."""
    tags = tagging.tags if tagging else {}
    return {
        "purpose": HANDOFF,
        "case": {
            "route_id": route.id,
            "ticket": ticket_reference(route.id),
            "queue": route.queue,
            "priority": route.priority,
            "rule": route.rule,
            "sla_due_at": route.sla_due_at.isoformat(),
            "reply_draft": route.reply_draft,
        },
        "post": {
            "platform": mention.platform,
            "native_id": mention.native_id,
            "brand": mention.brand,
            "url": mention.url,
            "author_handle": mention.author_handle,
            "text": mention.text,
            "lang": mention.lang,
            "created_at": mention.created_at.isoformat(),
        },
        "tags": {
            "complaint": bool(tagging.complaint) if tagging else None,
            "topic": tagging.topic if tagging else None,
            "risk": [tag for tag in RISK_TAGS if tags.get(tag)],
            "pii_types": sorted({str(item.get("type")) for item in tags.get("pii") or []}),
        },
    }


def reply_payload(route: Route, mention: Mention, text: str) -> dict[str, Any]:
    """A public reply to the post: the approved (masked) text and where it goes."""
    return {
        "purpose": REPLY,
        "route_id": route.id,
        "ticket": ticket_reference(route.id),
        "platform": mention.platform,
        "in_reply_to": mention.native_id,
        "author_handle": mention.author_handle,
        "brand": mention.brand,
        "lang": mention.lang,
        "text": text,
    }


def reply_destination(platform: str) -> str:
    """The outbox destination of a public reply: resolved to a ``dm`` destination at delivery."""
    return f"reply:{platform}"
