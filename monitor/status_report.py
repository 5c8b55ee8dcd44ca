"""`complaintwatch status`: counts per stage, each job's last run, source health, budgets, gaps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.store.models import (
    AuditEvent,
    Classification,
    CoverageGap,
    JobRun,
    Mention,
    OutboxMessage,
    Route,
    SourceHealth,
    StatusCheck,
)


def build(session: Session, config: Config) -> dict[str, Any]:
    """Everything `status` shows, as plain data."""
    count = lambda q: session.scalar(q) or 0  # noqa: E731
    stages = {
        "collected": count(select(func.count()).select_from(Mention)),
        "classified": count(
            select(func.count()).select_from(Mention).where(Mention.classified_at.is_not(None))
        ),
        "awaiting_classification": count(
            select(func.count()).select_from(Mention).where(Mention.classified_at.is_(None))
        ),
        "complaints": count(
            select(func.count(func.distinct(Classification.mention_id))).where(
                Classification.complaint.is_(True)
            )
        ),
        "routed": count(select(func.count()).select_from(Route)),
        "status_checks": count(select(func.count()).select_from(StatusCheck)),
        "gone": count(
            select(func.count()).select_from(Mention).where(Mention.post_status.not_in(("live", "restored")))
        ),
        "audit_events": count(select(func.count()).select_from(AuditEvent)),
    }
    outbox = dict(
        session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
    )
    jobs = [
        {
            "job": j.job,
            "status": j.last_status,
            "last_started_at": j.last_started_at,
            "last_finished_at": j.last_finished_at,
            "runs": j.runs,
            "failures": j.failures,
            "last_result": j.last_result,
            "last_error": j.last_error if j.last_status == "failed" else "",
        }
        for j in session.scalars(select(JobRun).order_by(JobRun.job))
    ]
    budgets = {s.name: s.monthly_read_budget for s in config.settings.sources}
    sources = [
        {
            "source": h.source,
            "state": h.state,
            "message": h.message,
            "paused_until": h.paused_until,
            "last_success_at": h.last_success_at,
            "reads_this_month": h.reads_this_month,
            "monthly_read_budget": budgets.get(h.source, 0) or None,
            "calls_this_month": h.calls_this_month,
        }
        for h in session.scalars(select(SourceHealth).order_by(SourceHealth.source))
    ]
    gaps = [
        {"source": g.source, "kind": g.kind, "reason": g.reason, "started_at": g.started_at}
        for g in session.scalars(select(CoverageGap).where(CoverageGap.ended_at.is_(None)))
    ]
    return {"stages": stages, "outbox": outbox, "jobs": jobs, "sources": sources, "open_gaps": gaps}


def render(report: dict[str, Any]) -> str:
    lines = ["stages:"]
    lines += [f"  {name:<24} {value}" for name, value in report["stages"].items()]
    if report["outbox"]:
        lines.append("outbox: " + ", ".join(f"{k} {v}" for k, v in sorted(report["outbox"].items())))
    lines.append("jobs:")
    for job in report["jobs"] or [{"job": "(none has run yet)"}]:
        if "status" not in job:
            lines.append(f"  {job['job']}")
            continue
        when = job["last_finished_at"] or job["last_started_at"]
        runs = f"runs {job['runs']}, failures {job['failures']}"
        lines.append(f"  {job['job']:<24} {job['status']:<8} {_when(when)}  {runs}")
        if job["last_error"]:
            lines.append(f"    error: {job['last_error']}")
    lines.append("sources:")
    for source in report["sources"] or [{"source": "(none has run yet)"}]:
        if "state" not in source:
            lines.append(f"  {source['source']}")
            continue
        budget = source["monthly_read_budget"]
        use = f"{source['reads_this_month']}/{budget}" if budget else f"{source['reads_this_month']}"
        calls = source["calls_this_month"]
        lines.append(f"  {source['source']:<24} {source['state']:<8} reads this month {use}, calls {calls}")
        if source["message"]:
            lines.append(f"    {source['message']}")
    for gap in report["open_gaps"]:
        lines.append(
            f"coverage gap: {gap['source']} {gap['kind']} since {_when(gap['started_at'])}: {gap['reason']}"
        )
    return "\n".join(lines)


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"
