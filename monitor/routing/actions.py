"""What an agent does with a case, each step checked and written to the audit log with who and when.

The dashboard calls these inside ``store.session()``; a refused step raises :class:`ActionError`
with a message fit to show, and writes nothing. Route states: ``open`` → ``assigned`` /
``snoozed`` / ``handed_off`` → ``resolved`` (``reopen`` goes back). A public reply is posted only
after :func:`approve_reply` (unless the rule has ``auto_send``), and never with personal data in it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classify.data import TOPICS
from classify.pii import find_pii
from monitor.config import Config
from monitor.routing import events, outbox
from monitor.routing.engine import exposed_values, latest_classifications
from monitor.routing.payloads import handoff_payload, reply_destination, reply_payload
from monitor.routing.templates import check_public, length_problem, mention_of
from monitor.store.models import Label, Mention, OutboxMessage, Route

STATES = ("open", "assigned", "snoozed", "handed_off", "resolved")
#: Tags a reviewer may correct, with the check their value must pass.
BOOLEAN_TAGS = ("complaint", "legal_threat", "regulator", "defamation_risk", "insult", "pii")
CORRECTABLE = (*BOOLEAN_TAGS, "topic", "lang")


class ActionError(ValueError):
    """A step that does not fit the case (unknown, resolved, already done, bad input)."""


# -- replies -----------------------------------------------------------------------------------------


def edit_reply(
    session: Session,
    route_id: int,
    user: str,
    text: str,
    *,
    config: Config | None = None,
    now: datetime | None = None,
) -> Route:
    """Change the reply draft without approving it (``config`` lets the brand's contacts through)."""
    now = _now(now)
    route, mention = _open_case(session, route_id, user, "edit the reply of")
    if route.approved_at is not None:
        raise ActionError(f"case {route_id}: the reply was already approved by {route.approved_by}")
    text = _checked_reply(session, route, mention, text, config)
    previous, route.reply_draft = route.reply_draft, text
    _event(session, "reply_edited", route, user, now, {"previous": previous, "text": text})
    return route


def approve_reply(
    session: Session,
    route_id: int,
    user: str,
    text: str | None = None,
    *,
    config: Config | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Approve the draft (or ``text``, an edit of it) and queue it as a public reply to the post.

    An edited text is refused if it contains personal data; pass ``config`` so the brand's own
    public contacts (``[[brands]].contacts``) are allowed in it.
    """
    now = _now(now)
    route, mention = _open_case(session, route_id, user, "approve a reply for")
    if route.approved_at is not None:
        raise ActionError(f"case {route_id}: the reply was already approved by {route.approved_by}")
    final = route.reply_draft if text is None else _checked_reply(session, route, mention, text, config)
    if not final.strip():
        raise ActionError(f"case {route_id}: there is no reply text to approve")
    edited = final != route.reply_draft
    route.reply_draft, route.approved_by, route.approved_at = final, user, now
    message = outbox.enqueue(
        session, route, reply_destination(mention.platform), reply_payload(route, mention, final), user, now
    )
    _event(
        session,
        "reply_approved",
        route,
        user,
        now,
        {"text": final, "edited": edited, "outbox_id": message.id},
    )
    return message


def _checked_reply(session: Session, route: Route, mention: Mention, text: str, config: Config | None) -> str:
    text = text.strip()
    if not text:
        raise ActionError(f"case {route.id}: the reply is empty")
    tagging = latest_classifications(session, [mention.id]).get(mention.id)
    # Whatever the detector finds in the stored draft is the brand's own contact data: the draft was
    # masked with those exempt when it was made, so an agent may keep them.
    contacts = [route.reply_draft[s.start : s.end] for s in find_pii(route.reply_draft)]
    if config is not None:
        contacts += [
            c for brand in config.settings.brands if brand.name == mention.brand for c in brand.contacts
        ]
    handle = mention_of(mention.platform, mention.author_handle.lstrip("@"))
    try:
        check_public(text, exposed_values(mention, tagging), contacts, keep=[handle] if handle else [])
    except ValueError as exc:
        raise ActionError(f"case {route.id}: {exc}") from None
    too_long = length_problem(text, mention.platform, outbox.public_post_limit(config, mention.platform))
    if too_long:
        raise ActionError(f"case {route.id}: {too_long}")
    return text


# -- hand-off, assignment, snooze, resolution --------------------------------------------------------


def hand_off(
    session: Session,
    route_id: int,
    user: str,
    destination: str | None = None,
    *,
    config: Config | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue the case for a private destination (the rule's, unless another is named)."""
    now = _now(now)
    route, mention = _open_case(session, route_id, user, "hand off")
    target = destination or route.destination
    if not target:
        raise ActionError(f"case {route_id}: its rule names no destination; choose one")
    if config is not None and target not in {d.name for d in config.settings.destinations}:
        known = ", ".join(d.name for d in config.settings.destinations) or "none configured"
        raise ActionError(f"case {route_id}: unknown destination {target!r} (known: {known})")
    tagging = latest_classifications(session, [mention.id]).get(mention.id)
    try:
        message = outbox.enqueue(session, route, target, handoff_payload(route, mention, tagging), user, now)
    except outbox.OutboxError as exc:
        raise ActionError(str(exc)) from None
    route.state = "handed_off"
    _event(session, "handed_off", route, user, now, {"destination": target, "outbox_id": message.id})
    return message


def assign(
    session: Session, route_id: int, user: str, assignee: str, *, now: datetime | None = None
) -> Route:
    """Give the case to ``assignee`` (a snoozed case wakes up)."""
    now = _now(now)
    route, _ = _open_case(session, route_id, user, "assign")
    if not assignee.strip():
        raise ActionError(f"case {route_id}: name someone to assign it to")
    previous, route.assignee, route.snoozed_until = route.assignee, assignee.strip(), None
    if route.state in ("open", "snoozed"):
        route.state = "assigned"
    _event(session, "case_assigned", route, user, now, {"assignee": route.assignee, "previous": previous})
    return route


def snooze(
    session: Session, route_id: int, user: str, until: datetime, *, now: datetime | None = None
) -> Route:
    """Put the case aside until ``until`` (an aware time in the future)."""
    now = _now(now)
    route, _ = _open_case(session, route_id, user, "snooze")
    if until.tzinfo is None:
        raise ActionError(f"case {route_id}: the snooze time {until} has no time zone")
    if until <= now:
        raise ActionError(f"case {route_id}: the snooze time {until:%Y-%m-%d %H:%M} is not in the future")
    if route.state == "handed_off":
        raise ActionError(f"case {route_id} is handed off; resolve or reopen it instead")
    route.state, route.snoozed_until = "snoozed", until
    _event(session, "case_snoozed", route, user, now, {"until": until.isoformat()})
    return route


def wake_snoozed(session: Session, now: datetime) -> int:
    """Bring back every case whose snooze has ended; returns how many."""
    woken = 0
    for route in session.scalars(select(Route).where(Route.state == "snoozed", Route.snoozed_until <= now)):
        route.state, route.snoozed_until = ("assigned" if route.assignee else "open"), None
        woken += 1
    return woken


def resolve(session: Session, route_id: int, user: str, *, now: datetime | None = None) -> Route:
    """Close the case."""
    now = _now(now)
    route, _ = _open_case(session, route_id, user, "resolve")
    route.state, route.resolved_at, route.snoozed_until = "resolved", now, None
    _event(session, "case_resolved", route, user, now, {})
    return route


def reopen(session: Session, route_id: int, user: str, *, now: datetime | None = None) -> Route:
    """Take a resolved case back into the queue."""
    now = _now(now)
    route = _route(session, route_id, user)
    if route.state != "resolved":
        raise ActionError(f"case {route_id} is {route.state}, only a resolved case can be reopened")
    route.state, route.resolved_at = ("assigned" if route.assignee else "open"), None
    _event(session, "case_reopened", route, user, now, {})
    return route


def record_first_response(
    session: Session,
    route_id: int,
    user: str,
    at: datetime | None = None,
    *,
    channel: str = "manual",
    now: datetime | None = None,
) -> Route:
    """Note that the customer got a first answer outside complaintwatch (phone, helpdesk)."""
    now = _now(now)
    route = _route(session, route_id, user)
    at = at or now
    if at.tzinfo is None or at > now:
        raise ActionError(
            f"case {route_id}: the first-response time must be an aware time, not in the future"
        )
    if route.first_response_at is not None:
        raise ActionError(
            f"case {route_id}: the first response was already recorded at {route.first_response_at}"
        )
    route.first_response_at = at
    _event(session, "first_response", route, user, now, {"at": at.isoformat(), "channel": channel})
    return route


# -- corrections (training data) ---------------------------------------------------------------------


def mark_not_complaint(session: Session, mention_id: int, user: str, *, now: datetime | None = None) -> Label:
    """Record that the post is no complaint and close its case, if it has one."""
    now = _now(now)
    label = _label(session, mention_id, user, "complaint", False, now)
    route = session.scalar(select(Route).where(Route.mention_id == mention_id))
    if route is not None and route.state != "resolved":
        route.state, route.resolved_at, route.snoozed_until = "resolved", now, None
    events.record(
        session,
        "marked_not_complaint",
        f"mention:{mention_id}",
        {"route_id": route.id if route else None, "label_id": label.id},
        now,
        user,
        mention_id,
    )
    return label


def correct_tag(
    session: Session, mention_id: int, user: str, field: str, value: Any, *, now: datetime | None = None
) -> Label:
    """Store a reviewer's correction of one tag (``labels``), for the next training run."""
    now = _now(now)
    label = _label(session, mention_id, user, field, _checked_value(field, value), now)
    events.record(
        session,
        "tag_corrected",
        f"mention:{mention_id}",
        {"field": field, "value": label.value, "label_id": label.id},
        now,
        user,
        mention_id,
    )
    return label


def _checked_value(field: str, value: Any) -> Any:
    if field not in CORRECTABLE:
        raise ActionError(f"cannot correct {field!r}: correctable tags are {', '.join(CORRECTABLE)}")
    if field in BOOLEAN_TAGS and not isinstance(value, bool):
        raise ActionError(f"{field} must be true or false, got {value!r}")
    if field == "topic" and value is not None and value not in TOPICS:
        raise ActionError(f"unknown topic {value!r} (known: {', '.join(TOPICS)}, or none)")
    if field == "lang" and not (isinstance(value, str) and value.isalpha() and len(value) == 2):
        raise ActionError(f"lang must be a two-letter ISO 639-1 code, got {value!r}")
    return value.lower() if field == "lang" else value


def _label(session: Session, mention_id: int, user: str, field: str, value: Any, now: datetime) -> Label:
    _check_user(user)
    if session.get(Mention, mention_id) is None:
        raise ActionError(f"no post #{mention_id}")
    label = Label(mention_id=mention_id, field=field, value=value, reviewer=user, created_at=now)
    session.add(label)
    session.flush()
    return label


# -- helpers -----------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _check_user(user: str) -> None:
    if not isinstance(user, str) or not user.strip():
        raise ActionError(f"every step needs the acting user's name, got {user!r}")


def _route(session: Session, route_id: int, user: str) -> Route:
    _check_user(user)
    # Lock the case row so two agents clicking at once are serialised, not interleaved.
    route = session.get(Route, route_id, with_for_update=True)
    if route is None:
        raise ActionError(f"no case #{route_id}")
    return route


def _open_case(session: Session, route_id: int, user: str, verb: str) -> tuple[Route, Mention]:
    route = _route(session, route_id, user)
    if route.state == "resolved":
        raise ActionError(f"case {route_id} is resolved; reopen it to {verb} it")
    mention = session.get(Mention, route.mention_id)
    if mention is None:  # the foreign key cascades, so this is a race with a purge
        raise ActionError(f"case {route_id}: its post is gone")
    return route, mention


def _event(
    session: Session, kind: str, route: Route, user: str, now: datetime, payload: dict[str, Any]
) -> None:
    events.record(
        session, kind, f"route:{route.id}", {"route_id": route.id, **payload}, now, user, route.mention_id
    )


__all__ = [
    "STATES",
    "ActionError",
    "approve_reply",
    "assign",
    "correct_tag",
    "edit_reply",
    "hand_off",
    "mark_not_complaint",
    "record_first_response",
    "reopen",
    "resolve",
    "snooze",
    "wake_snoozed",
]
