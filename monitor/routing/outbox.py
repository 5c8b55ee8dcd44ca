"""The transactional outbox: messages written with a decision, delivered at least once.

``enqueue`` writes a message in the caller's transaction. :func:`deliver_due` claims due
messages, sends each through its destination's sender and records the outcome:

* claiming is one ``UPDATE … RETURNING`` that moves due messages to ``sending``, bumps
  ``attempts`` and leases them until ``now + lease``. On PostgreSQL the candidates are picked with
  ``FOR UPDATE SKIP LOCKED`` so several workers split the work; SQLite's single writer makes the
  statement atomic. ``attempts`` doubles as the claim token: the outcome is recorded only if the
  message is still ``sending`` with the attempt number this worker claimed.
* a worker that dies after sending but before recording leaves the message ``sending``; when the
  lease runs out it is claimed again and sent again **with the same idempotency key**. A receiver
  that honours the key sees it once; any other sees it at least once. Nothing is ever lost.
* failures are retried with capped exponential back-off and jitter; a permanent failure, or the
  last allowed attempt, makes the message ``dead`` (shown in the dashboard, ``outbox retry``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.routing import events
from monitor.routing.payloads import HANDOFF, REPLY, reply_destination
from monitor.routing.senders import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    sender_for,
)
from monitor.routing.senders.dm import destination_platform
from monitor.routing.templates import POST_LIMITS
from monitor.settings import DestinationSettings
from monitor.store import Store
from monitor.store.models import OutboxMessage, Route

log = logging.getLogger(__name__)

STATES = ("pending", "sending", "sent", "dead")
#: Fault injection for the crash test: exit right after a send, before it is recorded.
CRASH_AFTER_SEND_ENV = "COMPLAINTWATCH_FAULT_CRASH_AFTER_SEND"
CRASH_EXIT_CODE = 86


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how patiently a message is retried."""

    max_attempts: int = 8
    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    #: How long a claimed message stays with its worker before another may take it over.
    lease_s: float = 300.0

    def backoff(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """Delay before the next try after ``attempts`` tries: capped doubling, 50–100 % jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(attempts - 1, 0))
        jitter = (rng or random).uniform(0.5, 1.0)
        return timedelta(seconds=ceiling * jitter)


def idempotency_key(route_id: int, destination: str, purpose: str) -> str:
    """The key for (route, destination, purpose): the same decision always gets the same key."""
    digest = hashlib.sha256(f"{route_id}\x1f{destination}\x1f{purpose}".encode()).hexdigest()
    return f"cw-{route_id}-{purpose}-{digest[:24]}"


class OutboxError(ValueError):
    """An outbox operation that does not fit the message's state."""


def enqueue(
    session: Session,
    route: Route,
    destination: str,
    payload: dict[str, Any],
    created_by: str,
    now: datetime,
    *,
    new_route: bool = False,
) -> OutboxMessage:
    """Add a message for ``route`` in the caller's transaction (refused if the same one exists).

    ``new_route`` skips the duplicate check and the flush: a route created in this transaction
    has no messages yet, and routing a batch should not cost a query per message.
    """
    purpose = str(payload["purpose"])
    key = idempotency_key(route.id, destination, purpose)
    if not new_route:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
        if existing is not None:
            raise OutboxError(
                f"case {route.id} already has a {purpose} to {destination!r}"
                f" (outbox #{existing.id}, {existing.state})"
            )
    message = OutboxMessage(
        route_id=route.id,
        destination=destination,
        kind=purpose,
        payload=payload,
        idempotency_key=key,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        created_by=created_by,
    )
    session.add(message)
    if not new_route:
        session.flush()  # callers record the message id in the audit log
    return message


# -- delivery ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A claimed message, detached from its session; (``attempts``, ``leased_until``) is the claim's token."""

    id: int
    route_id: int | None
    destination: str
    purpose: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    leased_until: datetime


def deliver_due(
    store: Store,
    config: Config,
    now: datetime | None = None,
    limit: int = 100,
    *,
    policy: DeliveryPolicy | None = None,
) -> dict[str, int]:
    """Deliver up to ``limit`` due messages; returns counts ``sent``, ``retried`` and ``dead``.

    Slow receivers must not let the claims outlive their lease (another worker would then send
    the rest again): past half the lease, the messages not yet tried are handed back.
    """
    policy = policy or DeliveryPolicy()
    now = now or datetime.now(UTC)
    counts = {"sent": 0, "retried": 0, "dead": 0}
    started = time.monotonic()
    claimed = claim_due(store, now, limit, policy)
    for done, message in enumerate(claimed):
        if time.monotonic() - started > policy.lease_s / 2:
            release(store, claimed[done:], now)
            break
        counts[deliver_one(store, config, message, now, policy)] += 1
    return counts


def release(store: Store, messages: Sequence[Claimed], now: datetime) -> None:
    """Hand claimed, untried messages back: pending, due now, the claim's attempt not counted."""
    with store.session() as session:
        for message in messages:
            session.execute(
                update(OutboxMessage)
                .where(*_still_ours(message))
                .values(state="pending", attempts=message.attempts - 1, next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )


def claim_due(store: Store, now: datetime, limit: int, policy: DeliveryPolicy) -> list[Claimed]:
    """Atomically take up to ``limit`` due messages (pending, or sending with an expired lease)."""
    is_due = (OutboxMessage.state.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= now)
    candidates = (
        select(OutboxMessage.id).where(*is_due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    )
    candidates = candidates.limit(limit)
    with store.session() as session:
        if store.dialect == "postgresql":
            # Materialise the locked ids first: PostgreSQL may run an IN-subquery with LIMIT more than once.
            chosen: Any = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        else:
            chosen = candidates.scalar_subquery()  # one statement: atomic under SQLite's single writer
        claim = (
            update(OutboxMessage)
            # The due conditions are repeated so a row another worker took meanwhile is left alone.
            .where(OutboxMessage.id.in_(chosen), *is_due)
            .values(
                state="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now + _lease(policy)
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.route_id,
                OutboxMessage.destination,
                OutboxMessage.kind,
                OutboxMessage.idempotency_key,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(claim).all()
    return sorted((Claimed(*row) for row in rows), key=lambda m: m.id)


def _lease(policy: DeliveryPolicy) -> timedelta:
    return timedelta(seconds=policy.lease_s)


def deliver_one(store: Store, config: Config, message: Claimed, now: datetime, policy: DeliveryPolicy) -> str:
    """Send one claimed message and record the outcome; returns ``sent``, ``retried`` or ``dead``."""
    outgoing = OutgoingMessage(message.id, message.purpose, message.idempotency_key, message.payload)
    try:
        destination = resolve_destination(config, message.destination)
        receipt = sender_for(destination.kind)(destination, outgoing)
    except PermanentDeliveryError as exc:
        return record_failure(store, message, str(exc), now, policy, permanent=True)
    except DeliveryError as exc:
        return record_failure(store, message, str(exc), now, policy, permanent=False)
    except Exception as exc:  # a sender bug must not stop the other messages; it is retried and shown
        log.exception("sender for outbox #%s crashed", message.id)
        return record_failure(store, message, f"{type(exc).__name__}: {exc}", now, policy, permanent=False)
    if os.environ.get(CRASH_AFTER_SEND_ENV):
        os._exit(CRASH_EXIT_CODE)
    return record_sent(store, message, receipt, now)


def resolve_destination(config: Config, name: str) -> DestinationSettings:
    """The configured destination ``name``; ``reply:<platform>`` means that platform's ``dm`` destination."""
    destinations = config.settings.destinations
    if name.startswith("reply:"):
        platform = name.removeprefix("reply:")
        for candidate in destinations:
            if candidate.kind == "dm" and destination_platform(candidate) == platform:
                return candidate
        raise DeliveryError(f"no dm destination for {platform!r} is configured to post public replies")
    for candidate in destinations:
        if candidate.name == name:
            return candidate
    raise DeliveryError(f"destination {name!r} is not in the config")


def public_post_limit(config: Config | None, platform: str) -> int | None:
    """The longest public reply on ``platform``: the reply account's ``max_chars`` option (a Mastodon
    instance may take 1,000 or 300), else the platform's default (:data:`~templates.POST_LIMITS`)."""
    if config is not None:
        try:
            destination = resolve_destination(config, reply_destination(platform))
        except DeliveryError:
            destination = None
        if destination is not None and "max_chars" in destination.options:
            return int(destination.options["max_chars"])
    return POST_LIMITS.get(platform)


def record_sent(store: Store, message: Claimed, receipt: Receipt, now: datetime) -> str:
    """Mark the message sent (if this worker still holds it) and stamp the case's timings."""
    with store.session() as session:
        done = session.execute(
            update(OutboxMessage)
            .where(*_still_ours(message))
            .values(state="sent", sent_at=now, last_error="")
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            log.warning("outbox #%s was taken over by another worker; it will be sent again", message.id)
            return "sent"
        route = session.get(Route, message.route_id) if message.route_id else None
        if route is not None:
            _stamp_route(route, message.purpose, receipt, now)
        events.record(
            session,
            "outbox_sent",
            f"outbox:{message.id}",
            {
                "destination": message.destination,
                "purpose": message.purpose,
                "attempts": message.attempts,
                "idempotency_key": message.idempotency_key,
                "route_id": message.route_id,
                "reference": receipt.reference,
            },
            now,
            "system",
            route.mention_id if route else None,
        )
    return "sent"


def _stamp_route(route: Route, purpose: str, receipt: Receipt, now: datetime) -> None:
    if purpose == HANDOFF and route.handed_off_at is None:
        route.handed_off_at = now
    if (purpose == REPLY or receipt.detail.get("first_response")) and route.first_response_at is None:
        route.first_response_at = now


def record_failure(
    store: Store, message: Claimed, error: str, now: datetime, policy: DeliveryPolicy, *, permanent: bool
) -> str:
    """Schedule the next try with back-off, or mark the message dead."""
    dead = permanent or message.attempts >= policy.max_attempts
    values: dict[str, Any] = {"last_error": error[:2000]}
    if dead:
        values["state"] = "dead"
    else:
        values.update(state="pending", next_attempt_at=now + policy.backoff(message.attempts))
    with store.session() as session:
        done = session.execute(
            update(OutboxMessage)
            .where(*_still_ours(message))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount and dead:  # type: ignore[attr-defined]
            route = session.get(Route, message.route_id) if message.route_id else None
            events.record(
                session,
                "outbox_dead",
                f"outbox:{message.id}",
                {
                    "destination": message.destination,
                    "purpose": message.purpose,
                    "attempts": message.attempts,
                    "error": error[:500],
                    "route_id": message.route_id,
                },
                now,
                "system",
                route.mention_id if route else None,
            )
    log.warning(
        "outbox #%s to %s failed (attempt %s): %s", message.id, message.destination, message.attempts, error
    )
    return "dead" if dead else "retried"


def _still_ours(message: Claimed) -> tuple[Any, ...]:
    return (
        OutboxMessage.id == message.id,
        OutboxMessage.state == "sending",
        OutboxMessage.attempts == message.attempts,
        OutboxMessage.next_attempt_at == message.leased_until,
    )


# -- operator actions --------------------------------------------------------------------------------


def list_messages(session: Session, state: str | None = None, limit: int = 50) -> Sequence[OutboxMessage]:
    """The newest messages, optionally in one state."""
    if state is not None and state not in STATES:
        raise OutboxError(f"unknown outbox state {state!r} (known: {', '.join(STATES)})")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    return session.scalars(query).all()


def retry(session: Session, message_id: int, user: str, now: datetime) -> OutboxMessage:
    """Give a dead message a fresh set of attempts, due now."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise OutboxError(f"no outbox message #{message_id}")
    if message.state != "dead":
        raise OutboxError(f"outbox #{message_id} is {message.state}, only dead messages can be retried")
    message.state, message.attempts, message.next_attempt_at = "pending", 0, now
    route = session.get(Route, message.route_id) if message.route_id else None
    events.record(
        session,
        "outbox_retry",
        f"outbox:{message.id}",
        {"destination": message.destination, "purpose": message.kind, "last_error": message.last_error[:500]},
        now,
        user,
        route.mention_id if route else None,
    )
    return message
