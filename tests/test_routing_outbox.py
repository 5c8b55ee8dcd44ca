"""deliver_due: claim, send, record; back-off, dead letters, leases and concurrent workers."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from fakes.server import Reply
from routing_factories import T0, WEBHOOK_SECRET, WebhookReceiver, add_tagged, make_config
from sqlalchemy import select

from monitor.routing import route_pending
from monitor.routing.outbox import (
    DeliveryPolicy,
    OutboxError,
    claim_due,
    deliver_due,
    list_messages,
    record_sent,
    retry,
)
from monitor.routing.senders import Receipt
from monitor.settings import DestinationSettings
from monitor.store.models import AuditEvent, OutboxMessage, Route

NOW = T0 + timedelta(minutes=5)
SECRET_ENV = "COMPLAINTWATCH_DESTINATION_SUPPORT_SECRET"


@pytest.fixture
def receiver():
    instance = WebhookReceiver().start()
    yield instance
    instance.stop()


@pytest.fixture
def config(database_url, receiver, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, WEBHOOK_SECRET)
    return make_config(
        database_url, destinations=[DestinationSettings(name="support", kind="webhook", url=receiver.url)]
    )


def _route_some(store, config, count: int = 1) -> None:
    with store.session() as session:
        for i in range(count):
            add_tagged(session, str(i + 1))
        route_pending(session, config, NOW)


def _message(store, message_id: int = 1) -> OutboxMessage:
    with store.session() as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def test_handoff_is_delivered_signed_with_its_key_and_recorded(store, config, receiver):
    _route_some(store, config)
    assert deliver_due(store, config, NOW) == {"sent": 1, "retried": 0, "dead": 0}
    ((key, document),) = receiver.acted_on
    message = _message(store)
    assert key == message.idempotency_key == document["idempotency_key"]
    assert document["purpose"] == "handoff" and document["post"]["text"].startswith("Telvia, mein Internet")
    assert "raw" not in document["post"] and "author_id" not in document["post"]
    assert (message.state, message.sent_at, message.attempts) == ("sent", NOW, 1)
    with store.session() as session:
        route = session.scalars(select(Route)).one()
        assert route.handed_off_at == NOW and route.first_response_at is None
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "outbox_sent")).one()
        assert (event.subject, event.actor, event.mention_id) == ("outbox:1", "system", route.mention_id)
        assert message.idempotency_key in event.payload and "Internet" not in event.payload
    assert deliver_due(store, config, NOW + timedelta(hours=1)) == {"sent": 0, "retried": 0, "dead": 0}


def test_a_bad_signature_secret_is_a_permanent_failure(store, config, receiver, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "not-the-receivers-secret")
    _route_some(store, config)
    assert deliver_due(store, config, NOW)["dead"] == 1
    assert "HTTP 401" in _message(store).last_error and receiver.acted_on == []


def test_failures_back_off_then_succeed(store, config, receiver):
    _route_some(store, config)
    receiver.server.fail_next("/hook", Reply(503, {"error": "maintenance"}))
    assert deliver_due(store, config, NOW) == {"sent": 0, "retried": 1, "dead": 0}
    message = _message(store)
    assert (message.state, message.attempts) == ("pending", 1)
    assert "HTTP 503" in message.last_error
    assert NOW + timedelta(seconds=15) <= message.next_attempt_at <= NOW + timedelta(seconds=30)
    assert deliver_due(store, config, NOW + timedelta(seconds=10))["sent"] == 0  # not due yet
    later = message.next_attempt_at
    assert deliver_due(store, config, later) == {"sent": 1, "retried": 0, "dead": 0}
    assert (_message(store).state, _message(store).attempts, _message(store).last_error) == ("sent", 2, "")


def test_too_many_failures_make_a_dead_letter_that_can_be_retried(store, config, receiver):
    _route_some(store, config)
    policy = DeliveryPolicy(max_attempts=2, base_delay_s=1, max_delay_s=1)
    for _ in range(2):
        receiver.server.fail_next("/hook", Reply(500, {"error": "boom"}))
    assert deliver_due(store, config, NOW, policy=policy)["retried"] == 1
    assert deliver_due(store, config, NOW + timedelta(seconds=2), policy=policy)["dead"] == 1
    with store.session() as session:
        assert [m.id for m in list_messages(session, state="dead")] == [1]
        dead = session.scalars(select(AuditEvent).where(AuditEvent.kind == "outbox_dead")).one()
        assert "HTTP 500" in dead.payload
        with pytest.raises(OutboxError, match="unknown outbox state 'gone'"):
            list_messages(session, state="gone")
    assert deliver_due(store, config, NOW + timedelta(days=1), policy=policy)["sent"] == 0  # dead stays dead
    with store.session() as session:
        retry(session, 1, "alice", NOW + timedelta(days=1))
        with pytest.raises(OutboxError, match="only dead messages can be retried"):
            retry(session, 1, "alice", NOW + timedelta(days=1))
        assert (
            session.scalars(select(AuditEvent.actor).where(AuditEvent.kind == "outbox_retry")).one()
            == "alice"
        )
    assert deliver_due(store, config, NOW + timedelta(days=1), policy=policy)["sent"] == 1
    assert len(receiver.acted_on) == 1


def test_a_missing_secret_or_destination_is_named(store, config, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    _route_some(store, config)
    assert deliver_due(store, config, NOW)["dead"] == 1
    assert f"needs the environment variable {SECRET_ENV}" in _message(store).last_error
    no_destinations = make_config(config.database_url)
    with store.session() as session:
        retry(session, 1, "alice", NOW)
    assert deliver_due(store, no_destinations, NOW)["retried"] == 1  # a config fix can still save it
    assert "destination 'support' is not in the config" in _message(store).last_error


def test_a_lease_keeps_a_claim_and_a_stale_worker_cannot_record(store, config):
    _route_some(store, config)
    policy = DeliveryPolicy(lease_s=60)
    (first,) = claim_due(store, NOW, 10, policy)
    assert claim_due(store, NOW + timedelta(seconds=59), 10, policy) == []  # still leased
    (second,) = claim_due(store, NOW + timedelta(seconds=61), 10, policy)  # the first worker looks dead
    assert (first.id, first.attempts, second.attempts) == (second.id, 1, 2)
    record_sent(store, first, Receipt(), NOW)  # the stale worker wakes up: its claim is void
    assert _message(store).state == "sending"
    record_sent(store, second, Receipt(), NOW + timedelta(seconds=62))
    assert (_message(store).state, _message(store).sent_at) == ("sent", NOW + timedelta(seconds=62))


def test_concurrent_workers_claim_disjoint_messages(store, config):
    _route_some(store, config, count=40)
    claims: list[list[int]] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        claims.append([m.id for m in claim_due(store, NOW, 15, DeliveryPolicy())])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in claims for i in ids]
    assert len(claimed) == len(set(claimed)) == 40
    assert sorted(len(ids) for ids in claims)[-1] <= 15


def test_backoff_is_capped_doubling_with_jitter():
    policy = DeliveryPolicy(base_delay_s=10, max_delay_s=100)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)]:
        delays = [policy.backoff(attempts, rng).total_seconds() for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_a_slow_batch_hands_back_what_it_could_not_try_within_half_the_lease(store, config, receiver):
    _route_some(store, config, count=3)

    def slow(request):
        time.sleep(0.4)
        return Reply(202, {"id": "ok"})

    receiver.server.route("POST", "/hook", slow)
    counts = deliver_due(store, config, NOW, policy=DeliveryPolicy(lease_s=0.6))
    assert counts == {"sent": 1, "retried": 0, "dead": 0}
    with store.session() as session:
        rest = session.scalars(select(OutboxMessage).where(OutboxMessage.state != "sent")).all()
        assert [(m.state, m.attempts, m.next_attempt_at) for m in rest] == [("pending", 0, NOW)] * 2
