"""Figures for advocates, computed from the audit log: are complaints removed more than other posts?

Per brand, platform and period (posts grouped by when they were created):

* share of complaints removed vs share of other posts removed, each with a Wilson 95% interval
  (a post counts as removed once a transition into one of ``removal_statuses`` was recorded,
  even if it was restored later);
* median time from posting to removal, as an upper bound (first check that saw it gone) and a
  lower bound (last check that saw it in its old state) — the truth lies between;
* authors locked out within ``lockout_days`` after a complaint — by the platform (suspended,
  deactivated, protected) or in the brand's own systems (``audit lockout add``) — against the
  same rate for authors of other posts;
* complaints answered publicly with "please DM us" that were then deleted. The rule: the
  complaint's route suggested a public reply (``public_reply``) that went out (``first_response_at``
  set), and the reply moves the conversation to a private channel — its template name contains
  ``dm`` or its text matches :data:`DM_PATTERN` (DM, direct/private message, Direkt-/Privatnachricht,
  PN …). "Then deleted" means a check saw the post gone after that reply.

Only classified posts count (the latest classification decides complaint or not).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collectors.base import GONE_STATUSES, PostStatus
from monitor.audit.observe import AUTHOR_STATUS_CHANGED, POST_STATUS_CHANGED
from monitor.store.models import AuditEvent, Classification, Lockout, Mention, Route, StatusCheck

REMOVAL_STATUSES = frozenset({PostStatus.REMOVED_BY_MODERATOR.value, PostStatus.REMOVED_BY_PLATFORM.value})
DM_PATTERN = re.compile(
    r"\b(dm|pn|direct ?message|private ?message|message us privately|direktnachricht|privatnachricht|"
    r"private nachricht|schreib(?:t|en sie)? uns privat)\b",
    re.IGNORECASE,
)
Z95 = 1.959963984540054
PERIODS = ("all", "month", "week")


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial share; ``None`` without trials."""
    if trials <= 0:
        return None
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class _Post:
    id: int
    brand: str
    platform: str
    author: tuple[str, str]
    created_at: datetime
    complaint: bool


def removal_figures(
    session: Session,
    brand: str | None = None,
    platform: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    period: str = "all",
    lockout_days: int = 30,
    removal_statuses: Iterable[str] = REMOVAL_STATUSES,
) -> list[dict[str, Any]]:
    """One row of figures per (brand, platform, period); see the module docstring for each figure."""
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    posts = _posts(session, brand, platform, since, until)
    if not posts:
        return []
    removals = _removals(session, brand, platform, since, until, frozenset(removal_statuses))
    lockouts = _lockout_times(session)
    dm = _dm_then_deleted(session, brand, platform, since, until)
    groups: dict[tuple[str, str, str], list[_Post]] = defaultdict(list)
    for post in posts:
        groups[(post.brand, post.platform, _period_label(post.created_at, period))].append(post)
    window = timedelta(days=lockout_days)
    return [
        _figures(key, members, removals, lockouts, dm, window, lockout_days)
        for key, members in sorted(groups.items())
    ]


def _filtered(query: Any, brand: str | None, platform: str | None, since: Any, until: Any) -> Any:
    if brand is not None:
        query = query.where(Mention.brand == brand)
    if platform is not None:
        query = query.where(Mention.platform == platform)
    if since is not None:
        query = query.where(Mention.created_at >= since)
    if until is not None:
        query = query.where(Mention.created_at < until)
    return query


def _posts(session: Session, brand: str | None, platform: str | None, since: Any, until: Any) -> list[_Post]:
    latest = (
        select(Classification.mention_id, func.max(Classification.id).label("id"))
        .group_by(Classification.mention_id)
        .subquery()
    )
    query = (
        select(
            Mention.id,
            Mention.brand,
            Mention.platform,
            Mention.author_id,
            Mention.created_at,
            Classification.complaint,
        )
        .join(latest, latest.c.mention_id == Mention.id)
        .join(Classification, Classification.id == latest.c.id)
    )
    rows = session.execute(_filtered(query, brand, platform, since, until))
    return [
        _Post(r.id, r.brand, r.platform, (r.platform, r.author_id), r.created_at, bool(r.complaint))
        for r in rows
    ]


def _removals(
    session: Session,
    brand: str | None,
    platform: str | None,
    since: Any,
    until: Any,
    statuses: frozenset[str],
) -> dict[int, tuple[datetime, datetime]]:
    """Per mention: (last seen in the old state, first seen removed) of its first removal."""
    query = (
        select(AuditEvent.mention_id, AuditEvent.payload)
        .join(Mention, Mention.id == AuditEvent.mention_id)
        .where(AuditEvent.kind == POST_STATUS_CHANGED)
        .order_by(AuditEvent.seq)
    )
    found: dict[int, tuple[datetime, datetime]] = {}
    for mention_id, text in session.execute(_filtered(query, brand, platform, since, until)):
        payload = json.loads(text)
        if mention_id in found or payload.get("status") not in statuses:
            continue
        window = payload.get("window") or {}
        found[mention_id] = (_parse(window["from"]), _parse(window["to"]))
    return found


def _lockout_times(session: Session) -> dict[tuple[str, str], list[datetime]]:
    """Per (platform, author id): when the platform or the brand locked the author out."""
    times: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    query = (
        select(Mention.platform, Mention.author_id, AuditEvent.payload)
        .join(Mention, Mention.id == AuditEvent.mention_id)
        .where(AuditEvent.kind == AUTHOR_STATUS_CHANGED)
    )
    for platform, author_id, text in session.execute(query):
        payload = json.loads(text)
        if payload.get("lockout"):
            times[(platform, author_id)].append(_parse(payload["window"]["to"]))
    brand_side = select(Mention.platform, Mention.author_id, Lockout.locked_at).join(
        Mention, Mention.id == Lockout.mention_id
    )
    for platform, author_id, locked_at in session.execute(brand_side):
        times[(platform, author_id)].append(locked_at)
    return times


def _dm_then_deleted(
    session: Session, brand: str | None, platform: str | None, since: Any, until: Any
) -> dict[int, bool]:
    """Complaints answered publicly with a move to private messages → was the post gone afterwards?"""
    query = (
        select(Route.mention_id, Route.template, Route.reply_draft, Route.first_response_at)
        .join(Mention, Mention.id == Route.mention_id)
        .where(Route.public_reply.is_(True), Route.first_response_at.is_not(None))
    )
    answered = {
        mention_id: replied_at
        for mention_id, template, draft, replied_at in session.execute(
            _filtered(query, brand, platform, since, until)
        )
        if "dm" in (template or "").lower() or DM_PATTERN.search(draft or "")
    }
    deleted: dict[int, bool] = dict.fromkeys(answered, False)
    ids = list(answered)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        gone = session.execute(
            select(StatusCheck.mention_id, func.max(StatusCheck.checked_at))
            .where(
                StatusCheck.mention_id.in_(chunk), StatusCheck.status.in_([s.value for s in GONE_STATUSES])
            )
            .group_by(StatusCheck.mention_id)
        )
        for mention_id, last_gone in gone:
            deleted[mention_id] = last_gone > answered[mention_id]
    return deleted


def _figures(
    key: tuple[str, str, str],
    posts: list[_Post],
    removals: dict[int, tuple[datetime, datetime]],
    lockouts: dict[tuple[str, str], list[datetime]],
    dm: dict[int, bool],
    window: timedelta,
    lockout_days: int,
) -> dict[str, Any]:
    complaints = [p for p in posts if p.complaint]
    others = [p for p in posts if not p.complaint]
    removed = [p for p in complaints if p.id in removals]
    row: dict[str, Any] = {
        "brand": key[0],
        "platform": key[1],
        "period": key[2],
        "lockout_days": lockout_days,
    }
    others_removed = sum(p.id in removals for p in others)
    row.update(complaints=len(complaints), complaints_removed=len(removed), others=len(others))
    row.update(others_removed=others_removed)
    row.update(_share("complaints_removed", len(removed), len(complaints)))
    row.update(_share("others_removed", others_removed, len(others)))
    upper = [(removals[p.id][1] - p.created_at).total_seconds() for p in removed]
    lower = [max(0.0, (removals[p.id][0] - p.created_at).total_seconds()) for p in removed]
    row["median_removal_s"] = statistics.median(upper) if upper else None
    row["median_removal_lower_s"] = statistics.median(lower) if lower else None
    row.update(_author_figures("complaint_authors", complaints, lockouts, window))
    complaint_authors = {p.author for p in complaints}
    row.update(
        _author_figures(
            "other_authors", [p for p in others if p.author not in complaint_authors], lockouts, window
        )
    )
    answered = [p for p in complaints if p.id in dm]
    row["dm_replies"] = len(answered)
    row["dm_then_deleted"] = sum(dm[p.id] for p in answered)
    row.update(_share("dm_then_deleted", row["dm_then_deleted"], len(answered)))
    return row


def _author_figures(
    name: str, posts: list[_Post], lockouts: dict[tuple[str, str], list[datetime]], window: timedelta
) -> dict[str, Any]:
    """Distinct authors, and those locked out within ``window`` after one of these posts."""
    authors: set[tuple[str, str]] = set()
    locked: set[tuple[str, str]] = set()
    for post in posts:
        authors.add(post.author)
        if any(post.created_at <= t <= post.created_at + window for t in lockouts.get(post.author, ())):
            locked.add(post.author)
    return {
        name: len(authors),
        f"{name}_locked": len(locked),
        **_share(f"{name}_locked", len(locked), len(authors)),
    }


def _share(name: str, successes: int, trials: int) -> dict[str, float | None]:
    interval = wilson_interval(successes, trials)
    return {
        f"{name}_share": successes / trials if trials else None,
        f"{name}_ci_low": interval[0] if interval else None,
        f"{name}_ci_high": interval[1] if interval else None,
    }


def _period_label(created_at: datetime, period: str) -> str:
    if period == "month":
        return created_at.strftime("%Y-%m")
    if period == "week":
        return created_at.strftime("%G-W%V")
    return "all"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
