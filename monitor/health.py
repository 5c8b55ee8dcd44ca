"""Source health: rate-limit pauses, back-off, failing credentials, budgets and coverage gaps.

Pausing is per source, never per process: a paused source is skipped by its jobs until
``paused_until`` while every other source goes on. Every pause or failure opens a coverage
gap that the next success closes, so no report calls "not seen" "not deleted".
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.store.models import CoverageGap, SourceHealth

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 600.0


def health(session: Session, source: str) -> SourceHealth:
    row = session.get(SourceHealth, source)
    if row is None:
        row = SourceHealth(
            source=source,
            state="ok",
            message="",
            failures=0,
            budget_month="",
            reads_this_month=0,
            calls_this_month=0,
        )
        session.add(row)
        session.flush()
    return row


def paused_reason(row: SourceHealth, now: datetime) -> str | None:
    """Why the source is paused now (rate limit, back-off, failing credentials), or None."""
    if row.paused_until is not None and row.paused_until > now:
        return f"{row.state} until {row.paused_until.isoformat(timespec='seconds')}: {row.message}"
    return None


def remaining_budget(row: SourceHealth, now: datetime, monthly_budget: int) -> int | None:
    _roll_month(row, now)
    return None if not monthly_budget else max(monthly_budget - row.reads_this_month, 0)


def record_use(row: SourceHealth, now: datetime, *, reads: int = 0, calls: int = 0) -> None:
    _roll_month(row, now)
    row.reads_this_month += reads
    row.calls_this_month += calls


def record_success(
    session: Session, row: SourceHealth, now: datetime, kind: str, *, close_open_gaps: bool = True
) -> None:
    """The source answered; ``close_open_gaps=False`` skips the gap update when none can be open."""
    recovered = row.state != "ok"
    if recovered:
        log.info("source %s recovered", row.source)
    row.state, row.message, row.failures, row.paused_until = "ok", "", 0, None
    row.last_success_at = now
    if close_open_gaps or recovered:
        close_gaps(session, row.source, kind, now)


def record_rate_limit(
    session: Session, row: SourceHealth, now: datetime, reset_at: datetime | None, kind: str, message: str
) -> None:
    until = reset_at if reset_at and reset_at > now else now + timedelta(seconds=60)
    log.warning(
        "source %s rate-limited until %s: %s", row.source, until.isoformat(timespec="seconds"), message
    )
    row.state, row.paused_until, row.message, row.last_error_at = "paused", until, message, now
    open_gap(session, row.source, kind, f"rate limited: {message}", now)


def record_transient(
    session: Session,
    row: SourceHealth,
    now: datetime,
    kind: str,
    message: str,
    retry_after: float | None = None,
) -> None:
    row.failures += 1
    delay = retry_after if retry_after else backoff_seconds(row.failures)
    log.warning("source %s failed (%s), retrying in %.0f s", row.source, message, delay)
    row.state, row.message, row.last_error_at = "backoff", message, now
    row.paused_until = now + timedelta(seconds=delay)
    open_gap(session, row.source, kind, f"error: {message}", now)


def record_failing(session: Session, row: SourceHealth, now: datetime, kind: str, message: str) -> None:
    """Credentials refused or a request rejected: retrying soon cannot help, so wait the cap."""
    row.failures += 1
    log.error("source %s is failing: %s", row.source, message)
    row.state, row.message, row.last_error_at = "failing", message, now
    row.paused_until = now + timedelta(seconds=BACKOFF_CAP_S)
    open_gap(session, row.source, kind, f"failing: {message}", now)


def backoff_seconds(failures: int) -> float:
    """Capped exponential back-off with full jitter (never below the base)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(failures - 1, 0))
    return max(BACKOFF_BASE_S, random.uniform(0, ceiling))


def open_gap(session: Session, source: str, kind: str, reason: str, now: datetime) -> None:
    existing = session.scalar(
        select(CoverageGap).where(
            CoverageGap.source == source, CoverageGap.kind == kind, CoverageGap.ended_at.is_(None)
        )
    )
    if existing is None:
        session.add(CoverageGap(source=source, kind=kind, reason=reason, started_at=now))


def record_missed(session: Session, source: str, span: tuple[datetime, datetime], now: datetime) -> None:
    """A closed gap for posts the source can no longer reach (e.g. an expired search window)."""
    start, end = span
    log.warning("source %s cannot reach posts from %s to %s any more", source, start, end)
    reason = f"search window expired: posts from {start.isoformat()} to {end.isoformat()} cannot be collected"
    session.add(CoverageGap(source=source, kind="collect", reason=reason, started_at=start, ended_at=end))


def close_gaps(session: Session, source: str, kind: str, now: datetime) -> None:
    session.execute(
        update(CoverageGap)
        .where(CoverageGap.source == source, CoverageGap.kind == kind, CoverageGap.ended_at.is_(None))
        .values(ended_at=now)
    )


def _roll_month(row: SourceHealth, now: datetime) -> None:
    month = now.strftime("%Y-%m")
    if row.budget_month != month:
        row.budget_month, row.reads_this_month, row.calls_this_month = month, 0, 0
