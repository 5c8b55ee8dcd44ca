"""Re-compute the audit chain and name the first event that was altered, removed, inserted or reordered.

Rows are streamed in ``seq`` order through a Core select (no ORM objects), so a million events
verify in seconds. What each finding means:

* ``altered``   — the event's stored hash does not match its content;
* ``reordered`` — the content is intact but was written for another position (seq) in the chain;
* ``removed``   — a sequence number is missing, or the chain head names events that are gone;
* ``inserted``  — an event that is not part of the chain (wrong place, or past the recorded head);
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.audit.canonical import GENESIS_HASH, iso_utc
from monitor.audit.chain import ChainLink, chain_head, envelope_text
from monitor.store.models import AuditEvent

#: How far from its slot a moved event is looked for when its hash does not match.
REORDER_WINDOW = 64
STREAM_BATCH = 20_000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head: ChainLink
    bad_seq: int | None = None
    problem: str | None = None  # altered | reordered | removed | inserted
    detail: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return f"OK: {self.count} events, chain head seq {self.head.seq} hash {self.head.hash}"
        return f"FAILED at seq {self.bad_seq}: {self.problem}: {self.detail}"


def stream_events(session: Session) -> Iterator[Any]:
    """Every row of ``audit_events`` in seq order (Core rows with every column), forged ones included."""
    table = AuditEvent.__table__
    query = select(table).order_by(table.c.seq)
    result = session.execute(query.execution_options(yield_per=STREAM_BATCH, stream_results=True))
    yield from result


def row_hash(row: Any, seq: int | None = None) -> str:
    """The hash a stored row should have (optionally as if it sat at another ``seq``)."""
    return _fresh_hash(row, iso_utc(row.recorded_at), seq)


def _fresh_hash(row: Any, recorded_at: str, seq: int | None = None) -> str:
    text = envelope_text(
        seq=row.seq if seq is None else seq,
        kind=row.kind,
        subject=row.subject,
        mention_id=row.mention_id,
        occurred_at=iso_utc(row.occurred_at),
        recorded_at=recorded_at,
        actor=row.actor,
        payload=row.payload,
        prev_hash=row.prev_hash,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_chain(session: Session) -> VerifyResult:
    """Walk the whole chain; stops at the first problem."""
    head = chain_head(session)
    expected_seq, previous, count = 1, GENESIS_HASH, 0
    # One append batch shares one recorded_at: format it once per batch, not once per row.
    last_recorded, recorded_text = None, ""
    for row in stream_events(session):
        if row.recorded_at != last_recorded:
            last_recorded, recorded_text = row.recorded_at, iso_utc(row.recorded_at)
        intact = (
            row.seq == expected_seq <= head.seq
            and row.prev_hash == previous
            and _fresh_hash(row, recorded_text) == row.hash
        )
        if not intact:  # the slow path works out what is wrong
            finding = _check_row(row, expected_seq, previous, head)
            if finding is not None:
                bad_seq, problem, detail = finding
                return VerifyResult(False, count, head, bad_seq, problem, detail)
        expected_seq, previous, count = row.seq + 1, row.hash, count + 1
    return _check_tail(count, expected_seq - 1, previous, head)


def _check_row(row: Any, expected_seq: int, previous: str, head: ChainLink) -> tuple[int, str, str] | None:
    if row.seq > head.seq:
        return (
            row.seq,
            "inserted",
            f"the chain head ends at seq {head.seq}; this event was added outside the log",
        )
    if row.seq < expected_seq:
        return row.seq, "inserted", f"seq {row.seq} is before the start of the chain (seq 1)"
    if row.seq > expected_seq:
        if row.prev_hash == previous and row_hash(row) == row.hash:
            return row.seq, "inserted", f"links to seq {expected_seq - 1} but carries seq {row.seq}"
        missing = (
            f"seq {expected_seq}" if row.seq == expected_seq + 1 else f"seq {expected_seq}–{row.seq - 1}"
        )
        return (
            expected_seq,
            "removed",
            f"{missing} missing: seq {expected_seq - 1} is followed by seq {row.seq}",
        )
    if row_hash(row) != row.hash:
        return _diagnose_mismatch(row)
    if row.prev_hash != previous:
        # Both rows hash correctly but do not link: the earlier one was changed and its hash re-computed.
        return (
            row.seq - 1,
            "altered",
            f"its hash {previous[:16]}… is not the one seq {row.seq} was chained to ({row.prev_hash[:16]}…): "
            f"it was changed and its hash re-computed (or seq {row.seq}'s prev_hash was rewritten)",
        )
    return None


def _diagnose_mismatch(row: Any) -> tuple[int, str, str]:
    """Altered, or an intact event moved to another slot?"""
    for offset in range(1, REORDER_WINDOW + 1):
        for origin in (row.seq - offset, row.seq + offset):
            if origin >= 1 and row_hash(row, origin) == row.hash:
                return row.seq, "reordered", f"the event stored at seq {row.seq} was written as seq {origin}"
    return row.seq, "altered", f"stored hash {row.hash[:16]}… does not match the event's content ({row.kind})"


def _check_tail(count: int, last_seq: int, last_hash: str, head: ChainLink) -> VerifyResult:
    if last_seq < head.seq:
        detail = f"the chain head says seq {head.seq} but the log ends at seq {last_seq}: events removed"
        return VerifyResult(False, count, head, last_seq + 1, "removed", detail)
    if last_hash != head.hash:
        detail = f"the last event's hash {last_hash[:16]}… differs from the chain head {head.hash[:16]}…"
        return VerifyResult(False, count, head, last_seq, "altered", detail)
    return VerifyResult(True, count, head)
