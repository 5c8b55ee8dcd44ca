"""The hash chain: canonical form, linking, the head lock and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from monitor.audit import EventDraft, append_event, append_events, chain_head
from monitor.audit.canonical import GENESIS_HASH, canonical_json, iso_utc, sha256_hex
from monitor.audit.verify import verify_chain
from monitor.store import Store
from monitor.store.models import AuditEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_first_event_links_to_genesis_and_hash_covers_every_field(store):
    with store.session() as session:
        event = append_event(
            session, kind="note", subject="x:1", payload={"b": 1, "a": "Grüße"}, occurred_at=T0, mention_id=7
        )
    assert event.seq == 1
    assert event.prev_hash == GENESIS_HASH
    assert event.payload == '{"a":"Grüße","b":1}'
    document = {
        "actor": "system",
        "kind": "note",
        "mention_id": 7,
        "occurred_at": "2026-03-02T09:00:00.000000Z",
        "payload": {"a": "Grüße", "b": 1},
        "prev_hash": GENESIS_HASH,
        "recorded_at": iso_utc(event.recorded_at),
        "seq": 1,
        "subject": "x:1",
    }
    assert event.hash == sha256_hex(canonical_json(document))


def test_events_chain_in_order_and_head_follows(store):
    with store.session() as session:
        first = append_event(session, kind="a", subject="s", payload={}, occurred_at=T0)
        links = append_events(session, [EventDraft("b", "s", {"i": i}, T0) for i in range(3)])
    with store.session() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        head = chain_head(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert rows[0].hash == first.hash
    assert (head.seq, head.hash) == (links[-1].seq, links[-1].hash) == (4, rows[-1].hash)


def test_rolled_back_append_leaves_no_gap(store):
    with pytest.raises(RuntimeError), store.session() as session:
        append_event(session, kind="a", subject="s", payload={}, occurred_at=T0)
        raise RuntimeError("abort the transaction")
    with store.session() as session:
        event = append_event(session, kind="b", subject="s", payload={}, occurred_at=T0)
    assert (event.seq, event.prev_hash) == (1, GENESIS_HASH)


def test_datetimes_in_payload_are_utc_iso(store):
    from zoneinfo import ZoneInfo

    berlin = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with store.session() as session:
        event = append_event(session, kind="a", subject="s", payload={"when": berlin}, occurred_at=berlin)
    assert json.loads(event.payload) == {"when": "2026-03-02T09:00:00.000000Z"}
    assert event.occurred_at == T0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "", "kind must be a non-empty string"),
        ("subject", "s" * 300, "subject is longer than 256"),
        ("occurred_at", datetime(2026, 3, 2), "naive datetime"),
        ("payload", {"x": float("nan")}, "cannot serialise"),
        ("payload", {"x": object()}, "cannot go into the audit log"),
    ],
)
def test_bad_events_are_refused_with_the_reason(store, field, value, message):
    fields = {"kind": "a", "subject": "s", "payload": {}, "occurred_at": T0, field: value}
    with store.session() as session:
        with pytest.raises((ValueError, TypeError), match=message):
            append_event(session, **fields)
        # the caller caught the error and carries on: the refused event left no gap in the chain
        event = append_event(session, kind="a", subject="s", payload={}, occurred_at=T0)
    assert (event.seq, event.prev_hash) == (1, GENESIS_HASH)


def _append_many(url: str, worker: int, count: int) -> None:
    store = Store(url)
    for i in range(count):
        with store.session() as session:
            append_event(
                session,
                kind="w",
                subject=f"w{worker}",
                payload={"i": i},
                occurred_at=T0 + timedelta(seconds=i),
            )
    store.dispose()


def test_two_processes_appending_never_share_a_prev_hash(store, database_url):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(database_url, n, 40)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with store.session() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        result = verify_chain(session)
    assert len(rows) == 80
    assert len({r.prev_hash for r in rows}) == 80
    assert {r.subject for r in rows} == {"w0", "w1"}
    assert result.ok, result.message
