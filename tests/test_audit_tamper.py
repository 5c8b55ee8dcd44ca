"""Tampering done directly in the database is caught by `audit verify`, which names the first bad event.

The triggers refuse UPDATE and DELETE on audit_events; to tamper, each test first disables them
the way an attacker with database rights would (SQLite DROP TRIGGER, PostgreSQL DISABLE TRIGGER).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from monitor.audit import EventDraft, append_events
from monitor.audit.canonical import iso_utc
from monitor.audit.chain import event_hash
from monitor.audit.verify import verify_chain
from monitor.cli import main

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENTS = 8


@pytest.fixture
def chained(store):
    with store.session() as session:
        drafts = [
            EventDraft(
                "post_status_changed",
                f"reddit:{i}",
                {"status": "deleted_by_author", "i": i},
                T0 + timedelta(minutes=i),
                mention_id=i,
            )
            for i in range(1, EVENTS + 1)
        ]
        append_events(session, drafts)
    return store


def _disable_triggers(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def _tamper(store, *statements: str, **params) -> None:
    with store.engine.begin() as connection:
        _disable_triggers(connection)
        for statement in statements:
            connection.execute(text(statement), params)


def _verify(store):
    with store.session() as session:
        return verify_chain(session)


def test_untouched_log_verifies(chained):
    result = _verify(chained)
    assert result.ok and result.count == EVENTS and result.head.seq == EVENTS
    assert result.message.startswith(f"OK: {EVENTS} events, chain head seq {EVENTS} hash ")


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"])
def test_triggers_refuse_update_and_delete(chained, statement):
    with pytest.raises(DBAPIError, match="append-only"), chained.engine.begin() as connection:
        connection.execute(text(statement))
    assert _verify(chained).ok


def test_truncate_is_refused_on_postgres(chained, on_postgres):
    if not on_postgres:
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DBAPIError, match="append-only"), chained.engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_events"))


def test_updated_field_is_named(chained):
    _tamper(chained, "UPDATE audit_events SET payload = :p WHERE seq = 3", p='{"i":3,"status":"live"}')
    result = _verify(chained)
    assert (result.ok, result.bad_seq, result.problem) == (False, 3, "altered")


def test_updated_field_with_recomputed_hash_is_named(chained):
    with chained.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM audit_events WHERE seq = 3")).mappings().one()
    forged = dict(row, actor="mallory")
    forged_hash = event_hash(
        **{k: forged[k] for k in ("seq", "kind", "subject", "mention_id", "actor", "payload", "prev_hash")},
        occurred_at=iso_utc(T0 + timedelta(minutes=3)),
        recorded_at=_recorded_at(chained, 3),
    )
    _tamper(chained, "UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 3", h=forged_hash)
    result = _verify(chained)
    assert (result.bad_seq, result.problem) == (3, "altered")
    assert "re-computed" in result.detail


def test_deleted_row_is_named(chained):
    _tamper(chained, "DELETE FROM audit_events WHERE seq = 5")
    result = _verify(chained)
    assert (result.ok, result.bad_seq, result.problem) == (False, 5, "removed")


def test_deleted_last_row_is_caught_by_the_head(chained):
    _tamper(chained, f"DELETE FROM audit_events WHERE seq = {EVENTS}")
    result = _verify(chained)
    assert (result.bad_seq, result.problem) == (EVENTS, "removed")


def test_inserted_row_is_named_even_with_a_valid_hash(chained):
    with chained.engine.connect() as connection:
        last = connection.execute(text(f"SELECT hash FROM audit_events WHERE seq = {EVENTS}")).scalar_one()
    seq = EVENTS + 1
    fields = {
        "seq": seq,
        "kind": "post_status_changed",
        "subject": "reddit:x",
        "mention_id": None,
        "actor": "system",
        "payload": "{}",
        "prev_hash": last,
    }
    stamp = iso_utc(T0)
    digest = event_hash(**fields, occurred_at=stamp, recorded_at=stamp)
    _tamper(
        chained,
        "INSERT INTO audit_events (seq, kind, subject, mention_id, occurred_at, recorded_at, actor, payload, "
        "prev_hash, hash) VALUES (:seq, :kind, :subject, NULL, :t, :t, :actor, :payload, :prev_hash, :hash)",
        **{k: v for k, v in fields.items() if k != "mention_id"},
        t=T0.replace(tzinfo=None),
        hash=digest,
    )
    result = _verify(chained)
    assert (result.bad_seq, result.problem) == (seq, "inserted")


def test_inserted_row_in_the_middle_is_named(chained):
    _tamper(
        chained,
        "INSERT INTO audit_events (seq, kind, subject, mention_id, occurred_at, recorded_at, actor, payload, "
        "prev_hash, hash) VALUES (0, 'note', 's', NULL, :t, :t, 'x', '{}', :h, :h)",
        t=T0.replace(tzinfo=None),
        h="f" * 64,
    )
    result = _verify(chained)
    assert (result.bad_seq, result.problem) == (0, "inserted")


def test_swapped_rows_are_named_as_reordered(chained):
    _tamper(
        chained,
        "UPDATE audit_events SET seq = -4 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = 5",
        "UPDATE audit_events SET seq = 5 WHERE seq = -4",
    )
    result = _verify(chained)
    assert (result.bad_seq, result.problem) == (4, "reordered")
    assert "written as seq 5" in result.detail


def test_cli_verify_exit_codes(chained, database_url, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[database]\nurl = 'sqlite:///unused.db'\n", encoding="utf-8")
    monkeypatch.setenv("COMPLAINTWATCH_DATABASE_URL", database_url)
    main(["--config", str(config), "audit", "verify"])
    assert capsys.readouterr().out.startswith(f"OK: {EVENTS} events")
    _tamper(chained, "DELETE FROM audit_events WHERE seq = 2")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "audit", "verify"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        "FAILED at seq 2: removed: seq 2 missing: seq 1 is followed by seq 3"
    )


def _recorded_at(store, seq: int) -> str:
    with store.session() as session:
        from monitor.store.models import AuditEvent

        return iso_utc(session.get(AuditEvent, seq).recorded_at)
