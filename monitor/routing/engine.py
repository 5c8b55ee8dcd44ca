"""Turn classified mentions into routing decisions, in one transaction with their outbox messages.

For each classified, not yet routed mention whose newest classification flags a complaint, a
legal-risk tag or exposed personal data, the first matching rule decides: a ``routes`` row (queue,
priority, SLA, rendered reply draft) and, when the rule names a destination, an ``outbox`` row for
the private hand-off. Both are written in the caller's transaction, so a crash leaves either both
or neither (transactional outbox); a sender delivers the message later. Every examined mention
gets ``routed_at``, so it is examined once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.routing import events, outbox
from monitor.routing.payloads import handoff_payload, reply_destination, reply_payload
from monitor.routing.rules import APPROVAL_ONLY_TAGS, RISK_TAGS, Facts, Rule, compile_rules, first_match
from monitor.routing.templates import (
    ReplyContext,
    length_problem,
    public_text,
    render,
    split_contacts,
    ticket_reference,
)
from monitor.store.models import Classification, Mention, Route

SYSTEM = "system"


def route_pending(session: Session, config: Config, now: datetime, limit: int = 1000) -> int:
    """Route up to ``limit`` classified, unrouted mentions; returns how many routes were created."""
    rules = compile_rules(config)
    contacts = {brand.name: tuple(brand.contacts) for brand in config.settings.brands}
    mentions = _unrouted(session, limit)
    ids = [m.id for m in mentions]
    taggings = latest_classifications(session, ids)
    # A mention re-queued after re-tagging keeps its case: one route per mention.
    has_route = (
        set(session.scalars(select(Route.mention_id).where(Route.mention_id.in_(ids)))) if ids else set()
    )
    decisions: list[tuple[Mention, Classification, Rule]] = []
    for mention in mentions:
        mention.routed_at = now
        tagging = taggings.get(mention.id)
        if tagging is None or mention.id in has_route or not needs_routing(tagging):
            continue
        rule = first_match(rules, facts_of(mention, tagging))
        if rule is not None:
            decisions.append((mention, tagging, rule))
    routes = [new_route(mention, rule, now) for mention, _, rule in decisions]
    session.add_all(routes)
    session.flush()  # one batch insert; the route ids are the ticket references the drafts show
    limits = {
        platform: outbox.public_post_limit(config, platform) for platform in {m.platform for m in mentions}
    }
    for route, (mention, tagging, rule) in zip(routes, decisions, strict=True):
        contact = contacts.get(mention.brand, ())
        complete_route(session, route, mention, tagging, rule, contact, now, limits[mention.platform])
    return len(routes)


def _unrouted(session: Session, limit: int) -> Sequence[Mention]:
    # SKIP LOCKED lets two routing workers on PostgreSQL split the backlog; SQLite ignores it.
    query = (
        select(Mention)
        .where(Mention.classified_at.is_not(None), Mention.routed_at.is_(None))
        .order_by(Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Mention)
    )
    return session.scalars(query).all()


def latest_classifications(session: Session, mention_ids: Sequence[int]) -> dict[int, Classification]:
    """The current (newest) classification of each mention."""
    if not mention_ids:
        return {}
    newest = (
        select(func.max(Classification.id))
        .where(Classification.mention_id.in_(mention_ids))
        .group_by(Classification.mention_id)
    )
    rows = session.scalars(select(Classification).where(Classification.id.in_(newest)))
    return {row.mention_id: row for row in rows}


def needs_routing(tagging: Classification) -> bool:
    """A complaint, a legal-risk tag, or exposed personal data (which needs a private hand-off)."""
    return bool(tagging.complaint or tagging.pii or _risk_tags(tagging.tags))


def facts_of(mention: Mention, tagging: Classification) -> Facts:
    """What the rules look at for one mention."""
    return Facts(
        brand=mention.brand,
        platform=mention.platform,
        lang=str(tagging.tags.get("lang") or mention.lang or "").lower(),
        topic=tagging.topic,
        complaint=bool(tagging.complaint),
        complaint_score=float(tagging.scores.get("complaint") or 0.0),
        tags=_risk_tags(tagging.tags),
        pii=bool(tagging.pii),
    )


def _risk_tags(tags: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(tag for tag in RISK_TAGS if tags.get(tag))


def exposed_values(mention: Mention, tagging: Classification | None) -> list[str]:
    """The exact personal-data substrings the classifier found in the post."""
    if tagging is None or not mention.text:
        return []
    spans = tagging.tags.get("pii") or []
    return [mention.text[int(s["start"]) : int(s["end"])] for s in spans if int(s["end"]) > int(s["start"])]


def new_route(mention: Mention, rule: Rule, now: datetime) -> Route:
    """The route the rule decided, before it has an id (and so a draft)."""
    return Route(
        mention_id=mention.id,
        rule=rule.name,
        queue=rule.queue,
        priority=rule.priority,
        # The customer has been waiting since they posted, not since we happened to collect it.
        sla_due_at=mention.created_at + timedelta(minutes=rule.sla_minutes),
        destination=rule.destination,
        template=rule.template,
        public_reply=rule.public_reply,
        state="open",
        created_at=now,
    )


def complete_route(
    session: Session,
    route: Route,
    mention: Mention,
    tagging: Classification,
    rule: Rule,
    brand_contacts: Sequence[str],
    now: datetime,
    reply_limit: int | None = None,
) -> None:
    """Give a flushed route its masked reply draft and, if the rule says so, its outbox messages.

    ``reply_limit``: the longest public reply the platform's reply account takes (default: the platform's).
    """
    route.reply_draft = draft_reply(route, mention, tagging, brand_contacts, reply_limit)
    if rule.destination:
        payload = handoff_payload(route, mention, tagging)
        outbox.enqueue(session, route, rule.destination, payload, SYSTEM, now, new_route=True)
    risky = bool(_risk_tags(tagging.tags) & APPROVAL_ONLY_TAGS)
    # Else an agent shortens it first.
    fits = length_problem(route.reply_draft, mention.platform, reply_limit) is None
    if rule.auto_send and rule.public_reply and not risky and fits:
        _auto_approve(session, route, mention, rule, now)


def _auto_approve(session: Session, route: Route, mention: Mention, rule: Rule, now: datetime) -> None:
    route.approved_by, route.approved_at = SYSTEM, now
    payload = reply_payload(route, mention, route.reply_draft)
    message = outbox.enqueue(session, route, reply_destination(mention.platform), payload, SYSTEM, now)
    event = {
        "route_id": route.id,
        "text": route.reply_draft,
        "edited": False,
        "outbox_id": message.id,
        "auto_send_rule": rule.name,
    }
    events.record(session, "reply_approved", f"route:{route.id}", event, now, SYSTEM, mention.id)


def draft_reply(
    route: Route,
    mention: Mention,
    tagging: Classification | None,
    contacts: Sequence[str],
    limit: int | None = None,
) -> str:
    """The route's template in the post's language, with every personal-data value masked."""
    hotline, email = split_contacts(contacts)
    context = ReplyContext(
        brand=mention.brand,
        handle=mention.author_handle,
        platform=mention.platform,
        ticket=ticket_reference(route.id),
        hotline=hotline,
        email=email,
    )
    lang = (tagging.tags.get("lang") if tagging else None) or mention.lang
    text = render(route.template, lang, context, limit)
    exposed = exposed_values(mention, tagging)
    handle = context.variables()["mention"]
    # The author's handle is how a reply reaches them, so the detector must not mangle it
    # (``@anna@example.social`` looks like an e-mail) unless it is itself what the post exposed.
    keep = [handle] if not any(value in handle for value in exposed) else []
    return public_text(text, exposed, contacts, keep=keep)
