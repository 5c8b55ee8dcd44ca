"""When to re-check a post: adaptive by age, aligned to a clock grid so batches fill up.

The cadence is a list of tiers ``[[age_up_to_s, every_s], ...]`` (``AuditSettings.cadence``):
by default every 5 minutes in the first hour, hourly for the first day, daily for a month and
weekly after that. Check times are multiples of ``every_s`` since the Unix epoch (a 5-minute
tier checks at :00, :05, :10 …). So every post of a tier falls due at the same instants, one
lookup call carries a full batch of ids, and the calls made come within one partial batch per
tick of the minimum the cadence needs (``bench/recheck_sim.py`` measures this). The cadence's
promise — no post goes unchecked longer than the interval of the tier it is in — still holds.

Young posts are checked first when a platform's budget cannot serve every due post at once:
that is where deletions cluster, and a daily check that slips by some minutes loses little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from monitor.settings import AuditSettings
from monitor.store.models import Classification, Mention

CadenceSpec = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Cadence:
    """Validated tiers: ages (upper bounds, ascending) and the check interval of each."""

    up_to_s: tuple[float, ...]
    every_s: tuple[float, ...]

    @classmethod
    def parse(cls, spec: CadenceSpec | Cadence | None) -> Cadence:
        """Validate ``[[age_up_to_s, every_s], ...]``; ``None`` means the default setting."""
        if isinstance(spec, Cadence):
            return spec
        tiers = AuditSettings().cadence if spec is None else spec
        if not tiers:
            raise ValueError("audit.cadence is empty: give at least one [age_up_to_s, every_s] tier")
        up_to: list[float] = []
        every: list[float] = []
        for index, tier in enumerate(tiers):
            if len(tier) != 2:
                raise ValueError(f"audit.cadence[{index}] must be [age_up_to_s, every_s], got {list(tier)!r}")
            age, interval = float(tier[0]), float(tier[1])
            if interval <= 0 or age <= 0:
                raise ValueError(f"audit.cadence[{index}] must have positive numbers, got {list(tier)!r}")
            if up_to and age <= up_to[-1]:
                raise ValueError(f"audit.cadence[{index}]: ages must increase ({age:g} after {up_to[-1]:g})")
            up_to.append(age)
            every.append(interval)
        return cls(tuple(up_to), tuple(every))

    def tier_of(self, age_s: Any) -> Any:
        """Tier index for a post age in seconds (scalar or NumPy array); past the last tier, the last."""
        index = np.searchsorted(np.asarray(self.up_to_s), age_s, side="left")
        return np.minimum(index, len(self.up_to_s) - 1)

    def interval_of(self, age_s: Any) -> Any:
        """Check interval in seconds for a post age (scalar or NumPy array)."""
        return np.asarray(self.every_s)[self.tier_of(age_s)]

    def next_check_epoch(self, created_s: Any, now_s: Any) -> Any:
        """The next grid instant strictly after ``now_s`` for posts created at ``created_s`` (epoch seconds).

        The interval is that of the tier the post will be in at the next check: a post checked at
        59 min is next checked on the hourly grid, not at 60 min and again at 65 min. So each tier
        costs what its interval promises and nothing more at its boundaries. Works element-wise on
        NumPy arrays: the recheck simulator calls exactly this.
        """
        created, now = np.asarray(created_s, dtype=float), np.asarray(now_s, dtype=float)
        every = self.interval_of(now - created)
        following = (np.floor(now / every) + 1.0) * every
        for _ in range(len(self.every_s) - 1):
            later = np.maximum(every, self.interval_of(following - created))
            if not np.any(later != every):
                break
            every = later
            following = (np.floor(now / every) + 1.0) * every
        return following


def next_check_at(
    created_at: datetime, now: datetime, cadence: CadenceSpec | Cadence | None = None
) -> datetime:
    """When a post created at ``created_at`` and checked (or collected) at ``now`` is due next."""
    plan = Cadence.parse(cadence)
    epoch = float(plan.next_check_epoch(created_at.timestamp(), now.timestamp()))
    return datetime.fromtimestamp(epoch, UTC)


def due_mentions(
    session: Session,
    now: datetime,
    limit: int,
    platforms: Sequence[str] | None = None,
    *,
    cadence: CadenceSpec | Cadence | None = None,
    skip_locked: bool = False,
) -> list[Mention]:
    """Mentions whose ``next_check_at`` has come, most urgent first, at most ``limit``.

    Order: complaints and legal-risk posts (by their latest classification) first, then younger
    age tiers, then the longest overdue. ``skip_locked`` claims the rows with
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers never check the same post.
    """
    if limit <= 0:
        return []
    plan = Cadence.parse(cadence)
    latest = (
        select(func.max(Classification.id))
        .where(Classification.mention_id == Mention.id)
        .correlate(Mention)
        .scalar_subquery()
    )
    priority = case((or_(Classification.complaint.is_(True), Classification.risk.is_(True)), 0), else_=1)
    query = (
        select(Mention)
        .outerjoin(Classification, Classification.id == latest)
        .where(Mention.next_check_at.is_not(None), Mention.next_check_at <= now)
        .order_by(priority, *_tier_order(plan, now), Mention.next_check_at, Mention.id)
        .limit(limit)
    )
    if platforms:
        query = query.where(Mention.platform.in_(list(platforms)))
    if skip_locked and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Mention)
    return list(session.scalars(query))


def _tier_order(plan: Cadence, now: datetime) -> list[Any]:
    """SQL for the cadence tier of ``Mention.created_at`` at ``now`` (same bounds as ``Cadence.tier_of``)."""
    whens = [
        (Mention.created_at >= now - timedelta(seconds=min(age, 1e9)), index)
        for index, age in enumerate(plan.up_to_s[:-1])
    ]
    return [case(*whens, else_=len(whens))] if whens else []
