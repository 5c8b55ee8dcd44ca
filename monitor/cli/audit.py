"""``complaintwatch audit …``: verify the chain, record lockouts and staff actions, export dossiers."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import click

from monitor.audit.dossier import DossierError, Selection, export_dossier, verify_export
from monitor.audit.figures import removal_figures
from monitor.audit.lockouts import (
    AUTOMATED_DECISION,
    DECISION_ACCOUNT,
    DECISION_GROUND,
    DECISION_VISIBILITY,
    SOURCE_TYPE,
    StatementOfReasons,
    record_lockout,
    record_staff_action,
)
from monitor.audit.retention import apply_retention, set_legal_hold
from monitor.audit.verify import verify_chain
from monitor.cli import cli
from monitor.cli.context import AppContext, InputError


class Timestamp(click.ParamType):
    """ISO-8601 date or date-time; without a zone it is UTC."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return _utc(value)
        text = str(value).strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(), UTC)
            return _utc(datetime.fromisoformat(text))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO-8601 date or time (e.g. 2026-03-01 or 2026-03-01T09:30Z)",
                param,
                ctx,
            )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TIME = Timestamp()


@cli.group()
def audit() -> None:
    """Moderation audit: the tamper-evident log, lockouts, staff actions, dossiers."""


@audit.command("verify")
@click.pass_obj
def verify(app: AppContext) -> None:
    """Re-compute the hash chain; exit 1 naming the first altered, removed, inserted or reordered event."""
    with app.store().session() as session:
        result = verify_chain(session)
    click.echo(result.message, err=not result.ok)
    if not result.ok:
        sys.exit(1)


@audit.group("lockout")
def lockout() -> None:
    """Account lockouts in the brand's own systems."""


@lockout.command("add")
@click.option("--mention", "mention_id", type=int, required=True, help="Id of the complaint it relates to.")
@click.option("--account", required=True, help="The locked account (customer number, login…).")
@click.option("--reason", required=True, help="The reason the brand stated.")
@click.option("--by", "reported_by", required=True, help="Who reports it (staff name or 'consumer').")
@click.option("--at", "locked_at", type=TIME, default=None, help="When it was locked (default: now).")
@click.pass_obj
def lockout_add(
    app: AppContext, mention_id: int, account: str, reason: str, reported_by: str, locked_at: datetime | None
) -> None:
    """Record an account lockout, linked to a complaint, as an audit event."""
    with app.store().session() as session:
        row = _library_call(
            record_lockout,
            session,
            mention_id=mention_id,
            account=account,
            reason=reason,
            reported_by=reported_by,
            locked_at=locked_at or datetime.now(UTC),
        )
        click.echo(f"lockout #{row.id} recorded as audit event seq {row.audit_seq}")


@audit.group("staff-action")
def staff_action() -> None:
    """Moderation actions of the brand's team, as DSA statements of reasons."""


@staff_action.command("add")
@click.option("--mention", "mention_id", type=int, default=None, help="Id of the post it concerns.")
@click.option(
    "--content", "content_ref", default="", help="URL or id of what was acted on (default: the post)."
)
@click.option("--by", "actor", required=True, help="Who took the action.")
@click.option(
    "--visibility", type=click.Choice(list(DECISION_VISIBILITY)), default=None, help="Content decision."
)
@click.option(
    "--account-decision", type=click.Choice(list(DECISION_ACCOUNT)), default=None, help="Account decision."
)
@click.option(
    "--ground", type=click.Choice(list(DECISION_GROUND)), required=True, help="Illegal or against T&C."
)
@click.option("--legal-ground", required=True, help="The law, or the clause of the terms, relied on.")
@click.option("--explanation", required=True, help="Why the content falls under that ground.")
@click.option("--automated-detection/--manual-detection", default=False, help="Found by automated means?")
@click.option(
    "--automated-decision", type=click.Choice(list(AUTOMATED_DECISION)), default="not", show_default=True
)
@click.option("--source-type", type=click.Choice(list(SOURCE_TYPE)), default="voluntary", show_default=True)
@click.option(
    "--content-date", type=TIME, default=None, help="When the content was posted (default: the post's)."
)
@click.option(
    "--at", "application_date", type=TIME, default=None, help="When the decision applied (default: now)."
)
@click.pass_obj
def staff_action_add(app: AppContext, mention_id: int | None, **options: Any) -> None:
    """Record a staff moderation action with actor, reason and legal ground."""
    with app.store().session() as session:
        content_date = options["content_date"]
        if content_date is None and mention_id is not None:
            from monitor.store.models import Mention

            mention = session.get(Mention, mention_id)
            content_date = mention.created_at if mention else None
        statement = StatementOfReasons(
            actor=options["actor"],
            decision_ground=options["ground"],
            legal_ground=options["legal_ground"],
            explanation=options["explanation"],
            automated_detection=options["automated_detection"],
            automated_decision=options["automated_decision"],
            source_type=options["source_type"],
            application_date=options["application_date"] or datetime.now(UTC),
            decision_visibility=options["visibility"],
            decision_account=options["account_decision"],
            content_date=content_date,
            content_ref=options["content_ref"],
        )
        row = _library_call(record_staff_action, session, mention_id=mention_id, statement=statement)
        click.echo(f"staff action #{row.id} recorded as audit event seq {row.audit_seq}")


@audit.command("export")
@click.option("--brand", required=True, help="Brand whose complaints go into the dossier.")
@click.option("--from", "since", type=TIME, required=True, help="Posts created from this time (UTC).")
@click.option("--to", "until", type=TIME, required=True, help="…up to (excluding) this time.")
@click.option("--mention", "mention_id", type=int, default=None, help="Only this post.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The .zip to write."
)
@click.pass_obj
def export(
    app: AppContext, brand: str, since: datetime, until: datetime, mention_id: int | None, out: Path
) -> None:
    """Write an evidence dossier (events JSON/CSV, HTML report, manifest with SHA-256 of every file)."""
    if until <= since:
        raise InputError(f"--to {until:%Y-%m-%d %H:%M} must be after --from {since:%Y-%m-%d %H:%M}")
    with app.store().session() as session:
        try:
            summary = export_dossier(session, Selection(brand, since, until, mention_id), out)
        except DossierError as exc:
            raise InputError(str(exc)) from None
    click.echo(
        f"wrote {summary.path}: {summary.mentions} posts, {summary.events} events, chain head seq "
        f"{summary.head.seq}; manifest SHA-256 {summary.manifest_sha256}"
    )


@audit.command("verify-export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def verify_export_command(path: Path) -> None:
    """Check a dossier offline; exit 1 naming the first file that was changed."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    result = verify_export(path)
    click.echo(result.message, err=not result.ok)
    if not result.ok:
        sys.exit(1)


@audit.command("hold")
@click.option("--mention", "mention_id", type=int, required=True, help="Id of the post.")
@click.option("--on/--off", "on", required=True, help="Put under legal hold, or release it.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who decides it.")
@click.pass_obj
def hold(app: AppContext, mention_id: int, on: bool, actor: str) -> None:
    """Keep a post's text and payload regardless of retention and preservation (or stop keeping them)."""
    with app.store().session() as session:
        event = _library_call(
            set_legal_hold, session, mention_id=mention_id, on=on, actor=actor, now=datetime.now(UTC)
        )
    state = "under legal hold" if on else "released from legal hold"
    click.echo(f"mention {mention_id} {state} (audit event seq {event.seq})")


@audit.command("retention")
@click.pass_obj
def retention(app: AppContext) -> None:
    """Purge text and payloads past audit.retention_days now (the scheduler does this hourly)."""
    with app.store().session() as session:
        purged = apply_retention(session, app.config.settings, datetime.now(UTC))
    click.echo(f"purged text and payload of {purged} posts (hashes kept)")


@audit.command("figures")
@click.option("--brand", default=None, help="Only this brand.")
@click.option("--platform", default=None, help="Only this platform.")
@click.option("--from", "since", type=TIME, default=None, help="Posts created from this time (UTC).")
@click.option("--to", "until", type=TIME, default=None, help="…up to (excluding) this time.")
@click.pass_obj
def figures(
    app: AppContext, brand: str | None, platform: str | None, since: datetime | None, until: datetime | None
) -> None:
    """Removal figures for advocates: complaints vs other posts, with 95% confidence intervals."""
    with app.store().session() as session:
        rows = removal_figures(session, brand=brand, platform=platform, since=since, until=until)
    if not rows:
        click.echo("no classified posts in that selection")
    for row in rows:
        click.echo(_figure_line(row))


def _figure_line(row: dict[str, Any]) -> str:
    def share(name: str) -> str:
        value, low, high = row[f"{name}_share"], row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        if value is None:
            return "n/a"
        return f"{value:.1%} [{low:.1%}–{high:.1%}]"

    median = row["median_removal_s"]
    median_text = "n/a" if median is None else f"{median / 60:.0f} min"
    return (
        f"{row['brand']} {row['platform']} ({row['period']}): "
        f"complaints removed {row['complaints_removed']}/{row['complaints']} "
        f"{share('complaints_removed')}, other posts removed {row['others_removed']}/{row['others']} "
        f"{share('others_removed')}; median time to removal ≤ {median_text}; complaint authors locked within "
        f"{row['lockout_days']} d {row['complaint_authors_locked']}/{row['complaint_authors']}; "
        f"'DM us' replies then deleted {row['dm_then_deleted']}/{row['dm_replies']}"
    )


def _library_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Library ValueError/LookupError (bad input) become the CLI's one-line InputError."""
    try:
        return function(*args, **kwargs)
    except (ValueError, LookupError) as exc:
        raise InputError(str(exc)) from None
