"""The append-only, hash-chained audit log.

Each event's hash is the SHA-256 of the canonical JSON of all its fields, ``prev_hash`` (the
previous event's hash; 64 zeros for the first) and ``seq`` included. So changing, removing,
inserting or reordering any event breaks the chain from that point, and ``verify`` names it.

Sequence numbers are gapless: every append locks the one-row ``audit_chain_head`` table
(``UPDATE … RETURNING`` takes the row lock on PostgreSQL and SQLite's write lock), so
concurrent writers queue up and never share a ``prev_hash``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _text  # json.dumps(str, ensure_ascii=False)
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.audit.canonical import GENESIS_HASH, canonical_json, iso_utc, sha256_hex
from monitor.store.models import AuditChainHead, AuditEvent

HEAD_ID = 1
EVENTS_TABLE = cast(Table, AuditEvent.__table__)


@dataclass(frozen=True)
class EventDraft:
    """An event before it has a place in the chain."""

    kind: str
    subject: str
    payload: Mapping[str, Any]
    occurred_at: datetime
    actor: str = "system"
    mention_id: int | None = None


@dataclass(frozen=True)
class ChainLink:
    """Where an appended event landed."""

    seq: int
    hash: str


def envelope_text(
    *,
    seq: int,
    kind: str,
    subject: str,
    mention_id: int | None,
    occurred_at: str,
    recorded_at: str,
    actor: str,
    payload: str,
    prev_hash: str,
) -> str:
    """The canonical JSON of one event, built from its stored columns (``payload`` is canonical text).

    Equal to ``canonical_json`` of the same fields with the payload parsed, but needs no parsing,
    which keeps ``verify`` fast.
    """
    mention = "null" if mention_id is None else str(int(mention_id))
    return (
        f'{{"actor":{_text(actor)},"kind":{_text(kind)},"mention_id":{mention},'
        f'"occurred_at":{_text(occurred_at)},"payload":{payload},"prev_hash":{_text(prev_hash)},'
        f'"recorded_at":{_text(recorded_at)},"seq":{int(seq)},"subject":{_text(subject)}}}'
    )


def event_hash(**fields: Any) -> str:
    """SHA-256 of :func:`envelope_text` (same keyword arguments)."""
    return sha256_hex(envelope_text(**fields))


def append_event(
    session: Session,
    *,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    actor: str = "system",
    mention_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside ``session``'s transaction and return it (flushed)."""
    draft = EventDraft(kind, subject, payload, occurred_at, actor, mention_id)
    (row,) = _chain_rows(session, [draft])
    event = AuditEvent(**row)
    session.add(event)
    session.flush()
    return event


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[ChainLink]:
    """Append many events in order with one lock of the chain head and one bulk insert."""
    if not drafts:
        return []
    rows = _chain_rows(session, drafts)
    session.execute(insert(EVENTS_TABLE), rows)  # Core executemany: no ORM bookkeeping per row
    return [ChainLink(row["seq"], row["hash"]) for row in rows]


def _chain_rows(session: Session, drafts: Sequence[EventDraft]) -> list[dict[str, Any]]:
    """Reserve ``len(drafts)`` sequence numbers under the head lock and compute each row's hash."""
    # Everything that can refuse a draft runs before the head moves, so a caught error leaves no gap.
    payloads = [_check_draft(draft) for draft in drafts]
    last_seq, prev_hash = _reserve(session, len(drafts))
    recorded_at = datetime.now(UTC)
    recorded_text = iso_utc(recorded_at)
    rows = []
    for offset, (draft, payload_text) in enumerate(zip(drafts, payloads, strict=True), start=1):
        row = {
            "seq": last_seq - len(drafts) + offset,
            "kind": draft.kind,
            "subject": draft.subject,
            "mention_id": draft.mention_id,
            "occurred_at": draft.occurred_at,
            "recorded_at": recorded_at,
            "actor": draft.actor,
            "payload": payload_text,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = event_hash(
            **{**row, "occurred_at": iso_utc(draft.occurred_at), "recorded_at": recorded_text}
        )
        rows.append(row)
    _set_head_hash(session, prev_hash)
    return rows


def _check_draft(draft: EventDraft) -> str:
    """Refuse a malformed draft (naming the field); returns its canonical payload text."""
    for name, limit in (("kind", 64), ("subject", 256), ("actor", 128)):
        value = getattr(draft, name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"audit event {name} must be a non-empty string, got {value!r}")
        if len(value) > limit:
            raise ValueError(f"audit event {name} is longer than {limit} characters: {value[:40]!r}…")
    if not isinstance(draft.payload, Mapping):
        raise ValueError(f"audit event payload must be a mapping, got {type(draft.payload).__name__}")
    iso_utc(draft.occurred_at)  # refuses naive datetimes
    return canonical_json(dict(draft.payload))


def _reserve(session: Session, count: int) -> tuple[int, str]:
    """Advance the head by ``count`` under its row lock; returns (new last seq, previous head hash)."""
    statement = (
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + count)
        .returning(AuditChainHead.seq, AuditChainHead.hash)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    if row is None:
        _create_head(session)
        row = session.execute(statement).one()
    return int(row.seq), str(row.hash)


def _set_head_hash(session: Session, digest: str) -> None:
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )


def _create_head(session: Session) -> None:
    """Seed the head from the log (a database whose migration did not insert it)."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    values = {"id": HEAD_ID, "seq": last.seq if last else 0, "hash": last.hash if last else GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(maker(AuditChainHead).values(**values).on_conflict_do_nothing(index_elements=["id"]))


def chain_head(session: Session) -> ChainLink:
    """The newest event's place in the chain as the head table records it (seq 0 when empty)."""
    row = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)
    ).first()
    if row is None:
        return ChainLink(0, GENESIS_HASH)
    return ChainLink(int(row.seq), str(row.hash))


def event_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def payload_of(event: AuditEvent | Mapping[str, Any]) -> dict[str, Any]:
    """The parsed payload of a stored event."""
    text = event.payload if isinstance(event, AuditEvent) else event["payload"]
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
