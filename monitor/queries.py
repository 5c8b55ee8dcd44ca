"""Read models for the dashboard (and the CLI): every query a page shows lives here.

Functions take a SQLAlchemy session and return plain frozen dataclasses or lists of dicts, so
pages stay thin and everything here is tested without Streamlit. The triage queue uses keyset
pagination on (priority, SLA due, route id): the next page starts after the last card shown,
so a page costs the same at row 25 and row 250,000, and new cases arriving while an agent
works do not shift the cards under them.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from classify.data import TOPICS
from collectors.base import PostStatus
from monitor.store.models import (
    AuditEvent,
    Classification,
    Mention,
    OutboxMessage,
    Route,
    StatusCheck,
    UTCDateTime,
)

#: Route states an agent still has to work on (snoozed cases come back when their snooze ends).
ACTIVE_STATES = ("open", "assigned")
ROUTE_STATES = ("open", "assigned", "snoozed", "handed_off", "resolved")
#: Post/author statuses the audit page lists (anything but live/unknown).
REMOVAL_STATUSES = tuple(s.value for s in PostStatus if s not in (PostStatus.LIVE, PostStatus.UNKNOWN))
#: Audit-log kinds the audit page lists: platform status transitions (monitor.audit.observe) and
#: lockouts in the brand's own systems (monitor.audit.lockouts).
STATUS_EVENT_KINDS = ("post_status_changed", "author_status_changed", "brand_account_locked")
#: Removals that are the platform's or a moderator's doing (the advocates' "removal rate").
MODERATION_STATUSES = ("removed_by_moderator", "removed_by_platform", "author_suspended")
DIMENSIONS = ("brand", "platform", "topic", "lang")
PAGE_SIZE = 25
UNASSIGNED = ""


# -- triage ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageFilters:
    """What the agent narrowed the queue to; empty tuples mean "any"."""

    brands: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    #: Empty = the active queue (open, assigned, snoozed whose snooze has ended).
    states: tuple[str, ...] = ()
    risk_only: bool = False
    pii_only: bool = False
    #: None = anyone; "" (:data:`UNASSIGNED`) = nobody; else a user name.
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.states if s not in ROUTE_STATES]
        if unknown:
            raise ValueError(f"unknown route state(s) {unknown}: expected some of {', '.join(ROUTE_STATES)}")


@dataclass(frozen=True)
class TriageCursor:
    """Where the next page of the queue starts (the sort key of the last card shown)."""

    priority: int
    sla_due_at: datetime
    route_id: int


@dataclass(frozen=True)
class TriageItem:
    """One case card: the route, its post and the post's current tags."""

    route_id: int
    mention_id: int
    priority: int
    sla_due_at: datetime
    state: str
    queue: str
    rule: str
    destination: str
    template: str
    reply_draft: str
    public_reply: bool
    assignee: str | None
    snoozed_until: datetime | None
    route_created_at: datetime
    first_response_at: datetime | None
    handed_off_at: datetime | None
    resolved_at: datetime | None
    approved_by: str | None
    platform: str
    brand: str
    author_handle: str
    author_id: str
    text: str | None
    url: str
    lang: str | None
    created_at: datetime
    post_status: str
    complaint: bool | None
    topic: str | None
    risk: bool
    pii: bool
    tags: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> TriageCursor:
        return TriageCursor(self.priority, self.sla_due_at, self.route_id)

    def sla_left(self, now: datetime) -> timedelta:
        """Time until the first response is due (negative once breached)."""
        return self.sla_due_at - now

    def sla_breached(self, now: datetime) -> bool:
        """Answered late, or unanswered past the due time."""
        if self.first_response_at is not None:
            return self.first_response_at > self.sla_due_at
        return now > self.sla_due_at


@dataclass(frozen=True)
class TriagePage:
    items: list[TriageItem]
    #: Start of the following page; None on the last page.
    next_cursor: TriageCursor | None


def _latest_classification_id() -> Any:
    return (
        select(func.max(Classification.id))
        .where(Classification.mention_id == Mention.id)
        .correlate(Mention)
        .scalar_subquery()
    )


def _state_condition(states: Sequence[str], now: datetime) -> ColumnElement[bool]:
    if states:
        return Route.state.in_(states)
    # Written as IN (…) AND …, not … OR …, so the (state, priority, sla_due_at, id) index applies.
    snooze_over = or_(Route.state != "snoozed", Route.snoozed_until <= now)
    return and_(Route.state.in_((*ACTIVE_STATES, "snoozed")), snooze_over)


def _no_index(column: Any, dialect: str) -> Any:
    """``+column`` on SQLite: the same value, but the planner may not drive the query from its index.

    Without ANALYZE statistics SQLite would start from, say, the 200,000 posts of one platform and
    look up each one's case; starting from the route index walks only the (few) active cases.
    PostgreSQL plans from its statistics and has no unary + for text, so it gets the column as is.
    """
    return UnaryExpression(column, operator=custom_op("+")) if dialect == "sqlite" else column


def _triage_conditions(filters: TriageFilters, now: datetime, dialect: str) -> list[ColumnElement[bool]]:
    conditions = [_state_condition(filters.states, now)]
    columns = (
        (filters.brands, _no_index(Mention.brand, dialect)),
        (filters.platforms, _no_index(Mention.platform, dialect)),
        (filters.langs, _no_index(Mention.lang, dialect)),
        (filters.topics, _no_index(Classification.topic, dialect)),
        (filters.queues, Route.queue),
    )
    conditions += [column.in_(values) for values, column in columns if values]
    if filters.risk_only:
        conditions.append(Classification.risk.is_(True))
    if filters.pii_only:
        conditions.append(Classification.pii.is_(True))
    if filters.assignee == UNASSIGNED:
        conditions.append(Route.assignee.is_(None))
    elif filters.assignee is not None:
        conditions.append(Route.assignee == filters.assignee)
    created = _no_index(Mention.created_at, dialect)
    if filters.since is not None:
        conditions.append(created >= _utc_param(filters.since))
    if filters.until is not None:
        conditions.append(created < _utc_param(filters.until))
    return conditions


def _page_ids(filters: TriageFilters, now: datetime, dialect: str) -> Select[Any]:
    """Route ids of the queue in order, joining posts and tags only when a filter needs them.

    Picking the ids first keeps the sort cheap: the rows sorted carry a key, not a post, its
    payload and its tags, and the full rows are then read for one page only.
    """
    needs_tags = bool(filters.topics or filters.risk_only or filters.pii_only)
    needs_post = needs_tags or bool(filters.brands or filters.platforms or filters.langs)
    needs_post = needs_post or filters.since is not None or filters.until is not None
    query = select(Route.id)
    if needs_post:
        query = query.join(Mention, Mention.id == Route.mention_id)
    if needs_tags:
        query = query.join(Classification, Classification.id == _latest_classification_id())
    return query.where(*_triage_conditions(filters, now, dialect))


def _rows(session: Session, route_ids: list[int]) -> list[Any]:
    """Each route of ``route_ids`` with its post and the post's newest classification."""
    if not route_ids:
        return []
    query = (
        select(Route, Mention, Classification)
        .join(Mention, Mention.id == Route.mention_id)
        .outerjoin(Classification, Classification.id == _latest_classification_id())
        .where(Route.id.in_(route_ids))
    )
    by_id = {route.id: (route, mention, tagging) for route, mention, tagging in session.execute(query)}
    return [by_id[route_id] for route_id in route_ids if route_id in by_id]


def triage_page(
    session: Session,
    filters: TriageFilters = TriageFilters(),
    after: TriageCursor | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> TriagePage:
    """One page of the queue, highest priority (1) first, then the SLA due soonest."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    now = now or datetime.now(UTC)
    query = _page_ids(filters, now, session.get_bind().dialect.name)
    if after is not None:
        key = tuple_(Route.priority, Route.sla_due_at, Route.id)
        query = query.where(key > tuple_(after.priority, _utc_param(after.sla_due_at), after.route_id))
    query = query.order_by(Route.priority, Route.sla_due_at, Route.id).limit(limit + 1)
    route_ids = list(session.scalars(query))
    items = [_triage_item(*row) for row in _rows(session, route_ids[:limit])]
    next_cursor = items[-1].cursor if len(route_ids) > limit and items else None
    return TriagePage(items=items, next_cursor=next_cursor)


def _utc_param(value: datetime) -> Any:
    # A typed bind: inside tuple_() SQLite would otherwise get an aware datetime it cannot compare.
    return bindparam(None, value, type_=UTCDateTime())


def triage_item(session: Session, route_id: int) -> TriageItem | None:
    """One case by route id, whatever its state."""
    query = (
        select(Route, Mention, Classification)
        .join(Mention, Mention.id == Route.mention_id)
        .outerjoin(Classification, Classification.id == _latest_classification_id())
        .where(Route.id == route_id)
    )
    row = session.execute(query).first()
    return _triage_item(*row) if row else None


def _triage_item(route: Route, mention: Mention, tagging: Classification | None) -> TriageItem:
    return TriageItem(
        route_id=route.id,
        mention_id=mention.id,
        priority=route.priority,
        sla_due_at=route.sla_due_at,
        state=route.state,
        queue=route.queue,
        rule=route.rule,
        destination=route.destination,
        template=route.template,
        reply_draft=route.reply_draft,
        public_reply=route.public_reply,
        assignee=route.assignee,
        snoozed_until=route.snoozed_until,
        route_created_at=route.created_at,
        first_response_at=route.first_response_at,
        handed_off_at=route.handed_off_at,
        resolved_at=route.resolved_at,
        approved_by=route.approved_by,
        platform=mention.platform,
        brand=mention.brand,
        author_handle=mention.author_handle,
        author_id=mention.author_id,
        text=mention.text,
        url=mention.url,
        lang=mention.lang,
        created_at=mention.created_at,
        post_status=mention.post_status,
        complaint=tagging.complaint if tagging else None,
        topic=tagging.topic if tagging else None,
        risk=bool(tagging and tagging.risk),
        pii=bool(tagging and tagging.pii),
        tags=dict(tagging.tags) if tagging else {},
        scores=dict(tagging.scores) if tagging else {},
        evidence=dict(tagging.evidence) if tagging else {},
    )


def queue_counts(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Cases still to work on, per state (open, assigned, snoozed), and "overdue": active and past SLA.

    Only the active states are counted: they are few and indexed, the resolved history is not.
    """
    now = now or datetime.now(UTC)
    waiting = ("open", "assigned", "snoozed")
    counts = dict.fromkeys(waiting, 0)
    query = select(Route.state, func.count()).where(Route.state.in_(waiting)).group_by(Route.state)
    for state, count in session.execute(query):
        counts[state] = int(count)
    overdue = (
        select(func.count())
        .select_from(Route)
        .where(_state_condition((), now), Route.first_response_at.is_(None), Route.sla_due_at < now)
    )
    counts["overdue"] = int(session.scalar(overdue) or 0)
    return counts


@dataclass(frozen=True)
class FilterOptions:
    brands: list[str]
    platforms: list[str]
    langs: list[str]
    topics: list[str]
    queues: list[str]


def distinct_values(session: Session, column: Any) -> list[str]:
    """The distinct non-empty values of an indexed column, by skipping through its index.

    A recursive "next value greater than the last one" walk costs one index seek per distinct
    value, where ``SELECT DISTINCT`` reads every row (a second on a million mentions).
    """
    walk = select(func.min(column).label("value")).cte("walk", recursive=True)
    following = select(func.min(column)).where(column > walk.c.value).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.value.is_not(None)))
    values = session.scalars(select(walk.c.value).where(walk.c.value.is_not(None)))
    return [v for v in values if v]


def filter_options(session: Session) -> FilterOptions:
    """The values each triage filter can take, read without scanning the million-row tables.

    Brands, platforms and queues skip through their indexes; topics are the classifier's fixed
    set (the one corrections are checked against); languages are those of the cases still
    waiting (a few thousand rows, where every post's language would mean reading every post).
    """
    waiting = Route.state.in_((*ACTIVE_STATES, "snoozed"))
    langs = select(Mention.lang).join(Route, Route.mention_id == Mention.id).where(waiting).distinct()
    return FilterOptions(
        brands=distinct_values(session, Mention.brand),
        platforms=distinct_values(session, Mention.platform),
        langs=sorted(lang for lang in session.scalars(langs) if lang),
        topics=sorted(TOPICS),
        queues=distinct_values(session, Route.queue),
    )


# -- audit -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    brands: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def status_changes(
    session: Session, filters: AuditFilters = AuditFilters(), limit: int = 500
) -> list[dict[str, Any]]:
    """Post and author status transitions from the audit log (deletions, removals, lockouts,
    restorations), newest first, with the verdict and evidence level the log recorded.
    """
    query = (
        select(AuditEvent, Mention.brand, Mention.platform)
        .outerjoin(Mention, Mention.id == AuditEvent.mention_id)
        .where(AuditEvent.kind.in_(STATUS_EVENT_KINDS))
        .order_by(AuditEvent.seq.desc())
    )
    if filters.brands:
        query = query.where(Mention.brand.in_(filters.brands))
    if filters.platforms:
        query = query.where(Mention.platform.in_(filters.platforms))
    if filters.since is not None:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.occurred_at < filters.until)
    if not filters.statuses:
        query = query.limit(limit)
    rows = []
    for event, brand, platform in session.execute(query):
        row = _status_change_row(event, brand, platform)
        if filters.statuses and row["status"] not in filters.statuses:
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


_WHAT = {
    "post_status_changed": "post",
    "author_status_changed": "author",
    "brand_account_locked": "brand account",
}


def _status_change_row(event: AuditEvent, brand: str | None, platform: str | None) -> dict[str, Any]:
    payload = _payload(event.payload)
    if event.kind == "brand_account_locked":
        # Reported by staff or the consumer: the brand's own record, not a platform observation.
        payload = {
            **payload,
            "status": "locked_by_brand",
            "lockout": True,
            "evidence_level": "reported",
            "verdict_basis": f"{payload.get('reason', '')} (reported by {payload.get('reported_by', '?')})",
        }
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "what": _WHAT.get(event.kind, event.kind),
        "mention_id": event.mention_id,
        "subject": event.subject,
        "brand": brand or payload.get("brand", ""),
        "platform": platform or payload.get("platform", ""),
        "author": payload.get("author_handle", ""),
        "url": payload.get("url", ""),
        "previous_status": payload.get("previous_status", ""),
        "status": payload.get("status", ""),
        "verdict": payload.get("verdict", ""),
        "evidence_level": payload.get("evidence_level", ""),
        "basis": payload.get("verdict_basis", ""),
        "lockout": bool(payload.get("lockout", False)),
        "hash": event.hash,
    }


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def status_history(session: Session, mention_id: int) -> list[dict[str, Any]]:
    """Every re-check of one post, oldest first (the coverage record behind a verdict)."""
    query = select(StatusCheck).where(StatusCheck.mention_id == mention_id).order_by(StatusCheck.checked_at)
    return [
        {
            "checked_at": c.checked_at,
            "source": c.source,
            "status": c.status,
            "author_status": c.author_status,
            "platform_stated": c.platform_stated,
            "detail": c.detail,
        }
        for c in session.scalars(query)
    ]


# -- overview ----------------------------------------------------------------------------------------


def _check_dimension(dimension: str) -> None:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}: expected one of {', '.join(DIMENSIONS)}")


def _day_range(since: date, until: date) -> tuple[datetime, datetime]:
    if until < since:
        raise ValueError(f"date range ends ({until}) before it starts ({since})")
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    return start, end


def _dimension_value(dimension: str, row: dict[str, Any]) -> str:
    return str(row.get(dimension) or "(none)")


def _latest(column: Any) -> Any:
    """``column`` of the mention's newest classification (a correlated lookup on its index)."""
    return (
        select(column)
        .where(Classification.mention_id == Mention.id)
        .order_by(Classification.id.desc())
        .limit(1)
        .correlate(Mention)
        .scalar_subquery()
    )


def _day(column: Any, dialect: str) -> Any:
    """The UTC day of a stored time as 'YYYY-MM-DD' text (SQLite keeps UTC text, PostgreSQL a timestamptz)."""
    if dialect == "sqlite":
        return func.substr(column, 1, 10)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _dimension_column(dimension: str) -> Any:
    return _latest(Classification.topic) if dimension == "topic" else getattr(Mention, dimension)


def volume(session: Session, since: date, until: date, dimension: str = "brand") -> list[dict[str, Any]]:
    """Per day and per value of ``dimension``: mentions, complaints and the complaint share (in SQL)."""
    _check_dimension(dimension)
    start, end = _day_range(since, until)
    day = _day(Mention.created_at, session.get_bind().dialect.name).label("day")
    value = _dimension_column(dimension).label("value")
    complaints = func.sum(case((_latest(Classification.complaint).is_(True), 1), else_=0))
    query = (
        select(day, value, func.count(), complaints)
        .where(Mention.created_at >= start, Mention.created_at < end)
        .group_by(day, value)
        .order_by(day, value)
    )
    return [
        {
            "day": date.fromisoformat(day_text),
            dimension: value or "(none)",
            "mentions": int(n),
            "complaints": int(c or 0),
            "complaint_share": (c or 0) / n if n else 0.0,
        }
        for day_text, value, n, c in session.execute(query)
    ]


@dataclass(frozen=True)
class CaseFigures:
    """Service figures over the routes created in a date range, for one dimension value (or all)."""

    group: str
    cases: int
    responded: int
    first_response_median_min: float | None
    first_response_p90_min: float | None
    handoffs: int
    handoff_median_min: float | None
    handoff_p90_min: float | None
    sla_breaches: int
    resolved: int
    resolution_rate: float


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start).total_seconds() / 60.0, 0.0)


def _median_p90(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    present = sorted(v for v in values if v is not None)
    if not present:
        return None, None
    p90 = present[min(len(present) - 1, round(0.9 * (len(present) - 1)))]
    return statistics.median(present), p90


def case_rows(session: Session, since: date, until: date) -> list[dict[str, Any]]:
    """One row per case (route) whose post was created in the range, with its timings in minutes."""
    start, end = _day_range(since, until)
    query = (
        select(
            Route.id,
            Route.state,
            Route.sla_due_at,
            Route.first_response_at,
            Route.handed_off_at,
            Route.resolved_at,
            Mention.brand,
            Mention.platform,
            Mention.lang,
            Mention.created_at,
            _latest(Classification.topic),
        )
        .join(Mention, Mention.id == Route.mention_id)
        .where(Mention.created_at >= start, Mention.created_at < end)
    )
    now = datetime.now(UTC)
    return [
        {
            "route_id": route_id,
            "brand": brand,
            "platform": platform,
            "lang": lang,
            "topic": topic,
            "created_at": created_at,
            "state": state,
            "first_response_min": _minutes(created_at, responded),
            "handoff_min": _minutes(created_at, handed_off),
            "sla_breached": (responded or now) > sla_due_at,
            "resolved": resolved_at is not None or state == "resolved",
        }
        for (
            route_id,
            state,
            sla_due_at,
            responded,
            handed_off,
            resolved_at,
            brand,
            platform,
            lang,
            created_at,
            topic,
        ) in session.execute(query)
    ]


def case_figures(
    session: Session, since: date, until: date, dimension: str | None = None
) -> list[CaseFigures]:
    """First-response and hand-off times (median, p90), SLA breaches and resolution rate.

    Times run from the post's creation (what the customer waited), in minutes. Without a
    dimension, one row "all"; with one, a row per value, largest first.
    """
    return summarize_cases(case_rows(session, since, until), dimension)


def summarize_cases(rows: Iterable[dict[str, Any]], dimension: str | None = None) -> list[CaseFigures]:
    """:func:`case_figures` over rows already read with :func:`case_rows` (one read, many breakdowns)."""
    if dimension is not None:
        _check_dimension(dimension)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["all" if dimension is None else _dimension_value(dimension, row)].append(row)
    figures = [_figures(name, members) for name, members in groups.items()]
    return sorted(figures, key=lambda f: (-f.cases, f.group))


def _figures(group: str, rows: list[dict[str, Any]]) -> CaseFigures:
    response = _median_p90(r["first_response_min"] for r in rows)
    handoff = _median_p90(r["handoff_min"] for r in rows)
    resolved = sum(1 for r in rows if r["resolved"])
    return CaseFigures(
        group=group,
        cases=len(rows),
        responded=sum(1 for r in rows if r["first_response_min"] is not None),
        first_response_median_min=response[0],
        first_response_p90_min=response[1],
        handoffs=sum(1 for r in rows if r["handoff_min"] is not None),
        handoff_median_min=handoff[0],
        handoff_p90_min=handoff[1],
        sla_breaches=sum(1 for r in rows if r["sla_breached"]),
        resolved=resolved,
        resolution_rate=resolved / len(rows) if rows else 0.0,
    )


def removal_rates(
    session: Session, since: date, until: date, dimension: str = "brand"
) -> list[dict[str, Any]]:
    """Per value of ``dimension``: posts, posts removed by moderators/platforms, and the rate."""
    _check_dimension(dimension)
    start, end = _day_range(since, until)
    removed = func.sum(case((Mention.post_status.in_(MODERATION_STATUSES), 1), else_=0))
    if dimension == "topic":
        column: Any = Classification.topic
        query = select(column, func.count(), removed).outerjoin(
            Classification, Classification.id == _latest_classification_id()
        )
    else:
        column = getattr(Mention, dimension)
        query = select(column, func.count(), removed)
    query = query.select_from(Mention) if dimension != "topic" else query
    query = query.where(Mention.created_at >= start, Mention.created_at < end).group_by(column)
    rows = [
        {dimension: value or "(none)", "posts": int(n), "removed": int(r or 0), "removal_rate": (r or 0) / n}
        for value, n, r in session.execute(query)
    ]
    return sorted(rows, key=lambda row: -row["posts"])


# -- admin -------------------------------------------------------------------------------------------


def dead_letters(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Outbox messages that gave up ("dead"), newest first."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.state == "dead")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": m.id,
            "route_id": m.route_id,
            "destination": m.destination,
            "kind": m.kind,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "created_at": m.created_at,
            "created_by": m.created_by,
        }
        for m in session.scalars(query)
    ]


def outbox_counts(session: Session) -> dict[str, int]:
    """Outbox messages per state."""
    return {
        state: int(n)
        for state, n in session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
    }
