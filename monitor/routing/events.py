"""Audit events of routing: every send, approval, edit and agent action, with who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.audit import append_event


def record(
    session: Session,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    occurred_at: datetime,
    actor: str,
    mention_id: int | None,
) -> None:
    """Append one event to the hash-chained audit log, in the caller's transaction.

    Payloads name what happened and to which case; they never carry the post's text.
    """
    append_event(
        session,
        kind=kind,
        subject=subject,
        payload=payload,
        occurred_at=occurred_at,
        actor=actor,
        mention_id=mention_id,
    )
