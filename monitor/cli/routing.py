"""``complaintwatch send`` and ``complaintwatch outbox …``: deliver hand-offs, inspect and retry them."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli import cli
from monitor.cli.context import AppContext, InputError
from monitor.routing import outbox as outbox_module
from monitor.routing.outbox import STATES, OutboxError, deliver_due
from monitor.store.models import OutboxMessage


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Deliver the due outbox messages and exit.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Most messages.")
@click.pass_obj
def send(app: AppContext, once: bool, limit: int) -> None:
    """Deliver due outbox messages (hand-offs, approved replies) to their destinations."""
    counts = deliver_due(app.store(), app.config, limit=limit)
    click.echo(f"sent {counts['sent']}, retried {counts['retried']}, dead {counts['dead']}")


@cli.group()
def outbox() -> None:
    """The outbox of hand-offs and replies: list, retry dead messages."""


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only messages in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def outbox_list(app: AppContext, state: str | None, limit: int, as_json: bool) -> None:
    """The newest messages, newest first."""
    with app.store().session() as session:
        rows = [_row(message) for message in outbox_module.list_messages(session, state, limit)]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("no messages" + (f" in state {state}" if state else ""))
    for row in rows:
        error = f"  error: {row['last_error'][:120]}" if row["last_error"] else ""
        click.echo(
            f"#{row['id']:<6} {row['state']:<8} {row['purpose']:<8} {row['destination']:<24}"
            f" case {row['route_id']}"
            f"  attempts {row['attempts']}  next {row['next_attempt_at']}{error}"
        )


@outbox.command("retry")
@click.argument("message_id", type=int)
@click.option("--user", default=None, help="Who asks (recorded in the audit log; default: the login name).")
@click.pass_obj
def outbox_retry(app: AppContext, message_id: int, user: str | None) -> None:
    """Give a dead message a fresh set of attempts, due now."""
    try:
        with app.store().session() as session:
            outbox_module.retry(session, message_id, user or getpass.getuser(), datetime.now(UTC))
    except OutboxError as exc:
        raise InputError(str(exc)) from None
    click.echo(f"outbox #{message_id} is pending again")


def _row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "state": message.state,
        "purpose": message.kind,
        "destination": message.destination,
        "route_id": message.route_id,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at.isoformat(timespec="seconds"),
        "sent_at": message.sent_at.isoformat(timespec="seconds") if message.sent_at else None,
        "last_error": message.last_error,
        "idempotency_key": message.idempotency_key,
    }
