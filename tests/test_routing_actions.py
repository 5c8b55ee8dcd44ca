"""The agents' steps: state changes, refusals, labels, and an audit event with who and when for each."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from routing_factories import HOTLINE, T0, add_tagged, make_config
from sqlalchemy import select

from monitor.audit.verify import verify_chain
from monitor.routing import actions, route_pending
from monitor.routing.actions import ActionError
from monitor.settings import DestinationSettings
from monitor.store.models import AuditEvent, Label, OutboxMessage, Route

NOW = T0 + timedelta(minutes=5)
LATER = NOW + timedelta(minutes=10)
PHONE = "0171 2345678"


@pytest.fixture
def case(store, database_url):
    """One routed complaint with personal data in the post; yields (route id, mention id)."""
    config = make_config(
        database_url, destinations=[DestinationSettings(name="helpdesk", kind="webhook", url="-")]
    )
    with store.session() as session:
        mention = add_tagged(session, "1", f"Telvia, Internet weg. Ruft an: {PHONE}", pii=[("phone", PHONE)])
        route_pending(session, config, NOW)
        route = session.scalars(select(Route)).one()
    return route.id, mention.id


def _events(session, kind: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def test_approve_the_draft_queues_the_public_reply(store, case):
    route_id, mention_id = case
    with store.session() as session:
        message = actions.approve_reply(session, route_id, "alice", now=LATER)
        route = session.get(Route, route_id)
        assert (route.approved_by, route.approved_at) == ("alice", LATER)
        assert (message.kind, message.destination, message.created_by) == ("reply", "reply:mastodon", "alice")
        assert message.payload["text"] == route.reply_draft and PHONE not in message.payload["text"]
        (event,) = _events(session, "reply_approved")
        assert (event.actor, event.occurred_at, event.mention_id, event.subject) == (
            "alice",
            LATER,
            mention_id,
            f"route:{route_id}",
        )
        assert json.loads(event.payload)["edited"] is False
        with pytest.raises(ActionError, match=f"case {route_id}: the reply was already approved by alice"):
            actions.approve_reply(session, route_id, "bob", now=LATER)
        assert verify_chain(session).ok


def test_an_edited_reply_is_checked_for_personal_data(store, case, database_url):
    route_id, _ = case
    config = make_config(database_url)
    with store.session() as session:
        with pytest.raises(ActionError, match="contains personal data"):
            actions.approve_reply(session, route_id, "alice", f"@anna@social.example wir rufen {PHONE} an")
        with pytest.raises(ActionError, match="contains personal data"):
            actions.edit_reply(session, route_id, "alice", "Schreib an anna@mail.example")
        with pytest.raises(ActionError, match="the reply is empty"):
            actions.approve_reply(session, route_id, "alice", "   ")
        assert session.get(Route, route_id).approved_at is None
    with store.session() as session:
        # The brand's hotline and the author's handle may stay.
        text = f"@anna@social.example Bitte ruf uns an: {HOTLINE} (CW-{route_id})"
        with pytest.raises(ActionError, match="contains personal data"):  # without the config: unknown number
            actions.edit_reply(session, route_id, "bob", text, now=NOW)
        actions.edit_reply(session, route_id, "bob", text, config=config, now=NOW)
        message = actions.approve_reply(session, route_id, "alice", now=LATER)
        assert message.payload["text"] == text
        (edit,) = _events(session, "reply_edited")
        assert edit.actor == "bob" and json.loads(edit.payload)["text"] == text


def test_assign_snooze_wake_hand_off_resolve_reopen(store, case, database_url):
    route_id, _ = case
    config = make_config(
        database_url, destinations=[DestinationSettings(name="helpdesk", kind="webhook", url="-")]
    )
    with store.session() as session:
        route = actions.assign(session, route_id, "lead", "alice", now=NOW)
        assert (route.state, route.assignee) == ("assigned", "alice")
        route = actions.snooze(session, route_id, "alice", LATER, now=NOW)
        assert (route.state, route.snoozed_until) == ("snoozed", LATER)
        assert actions.wake_snoozed(session, LATER - timedelta(seconds=1)) == 0
        assert actions.wake_snoozed(session, LATER) == 1
        assert (route.state, route.snoozed_until) == ("assigned", None)
        with pytest.raises(ActionError, match="unknown destination 'nowhere'"):
            actions.hand_off(session, route_id, "alice", "nowhere", config=config)
        with pytest.raises(ActionError, match="its rule names no destination"):
            actions.hand_off(session, route_id, "alice")
        message = actions.hand_off(session, route_id, "alice", "helpdesk", config=config, now=LATER)
        assert (route.state, message.destination, message.kind, message.payload["post"]["text"]) == (
            "handed_off",
            "helpdesk",
            "handoff",
            f"Telvia, Internet weg. Ruft an: {PHONE}",
        )
        with pytest.raises(ActionError, match="already has a handoff to 'helpdesk'"):
            actions.hand_off(session, route_id, "alice", "helpdesk")
        with pytest.raises(ActionError, match="is handed off"):
            actions.snooze(session, route_id, "alice", LATER + timedelta(hours=1), now=LATER)
        route = actions.resolve(session, route_id, "alice", now=LATER)
        assert (route.state, route.resolved_at) == ("resolved", LATER)
        for step in (
            lambda: actions.resolve(session, route_id, "alice"),
            lambda: actions.assign(session, route_id, "alice", "bob"),
            lambda: actions.approve_reply(session, route_id, "alice"),
        ):
            with pytest.raises(ActionError, match=f"case {route_id} is resolved; reopen it"):
                step()
        route = actions.reopen(session, route_id, "bob", now=LATER)
        assert (route.state, route.resolved_at) == ("assigned", None)
        with pytest.raises(ActionError, match="only a resolved case can be reopened"):
            actions.reopen(session, route_id, "bob")
        kinds = [(e.kind, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert kinds == [
            ("case_assigned", "lead"),
            ("case_snoozed", "alice"),
            ("handed_off", "alice"),
            ("case_resolved", "alice"),
            ("case_reopened", "bob"),
        ]


def test_bad_inputs_are_refused(store, case):
    route_id, mention_id = case
    with store.session() as session:
        with pytest.raises(ActionError, match="no case #999"):
            actions.resolve(session, 999, "alice")
        with pytest.raises(ActionError, match="is not in the future"):
            actions.snooze(session, route_id, "alice", NOW, now=NOW)
        with pytest.raises(ActionError, match="has no time zone"):
            actions.snooze(session, route_id, "alice", LATER.replace(tzinfo=None), now=NOW)
        with pytest.raises(ActionError, match="name someone"):
            actions.assign(session, route_id, "alice", " ")
        with pytest.raises(ActionError, match="cannot correct 'colour'"):
            actions.correct_tag(session, mention_id, "alice", "colour", "red")
        with pytest.raises(ActionError, match="legal_threat must be true or false"):
            actions.correct_tag(session, mention_id, "alice", "legal_threat", "yes")
        with pytest.raises(ActionError, match="unknown topic 'weather'"):
            actions.correct_tag(session, mention_id, "alice", "topic", "weather")
        with pytest.raises(ActionError, match="no post #999"):
            actions.mark_not_complaint(session, 999, "alice")
        with pytest.raises(ActionError, match="needs the acting user's name"):
            actions.resolve(session, route_id, " ")
        with pytest.raises(ActionError, match="needs the acting user's name"):
            actions.correct_tag(session, mention_id, "", "topic", "billing")
        assert session.scalars(select(AuditEvent)).all() == []


def test_first_response_is_recorded_once(store, case):
    route_id, _ = case
    with store.session() as session:
        with pytest.raises(ActionError, match="not in the future"):
            actions.record_first_response(session, route_id, "alice", LATER, now=NOW)
        route = actions.record_first_response(session, route_id, "alice", NOW, channel="phone", now=LATER)
        assert route.first_response_at == NOW
        with pytest.raises(ActionError, match="already recorded"):
            actions.record_first_response(session, route_id, "alice", now=LATER)
        (event,) = _events(session, "first_response")
        assert json.loads(event.payload)["channel"] == "phone"


def test_corrections_become_labels_for_retraining(store, case):
    route_id, mention_id = case
    with store.session() as session:
        actions.correct_tag(session, mention_id, "alice", "topic", "billing", now=NOW)
        actions.correct_tag(session, mention_id, "alice", "lang", "EN", now=NOW)
        actions.mark_not_complaint(session, mention_id, "bob", now=LATER)
        labels = [(x.field, x.value, x.reviewer) for x in session.scalars(select(Label).order_by(Label.id))]
        assert labels == [("topic", "billing", "alice"), ("lang", "en", "alice"), ("complaint", False, "bob")]
        route = session.get(Route, route_id)
        assert (route.state, route.resolved_at) == ("resolved", LATER)
        assert [e.actor for e in _events(session, "tag_corrected")] == ["alice", "alice"]
        assert _events(session, "marked_not_complaint")[0].mention_id == mention_id


def test_a_refused_step_writes_nothing(store, case):
    route_id, _ = case
    with store.session() as session:
        before = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
    with pytest.raises(ActionError), store.session() as session:
        actions.approve_reply(session, route_id, "alice", f"ruf {PHONE}")
    with store.session() as session:
        assert session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) == before
        assert session.scalars(select(AuditEvent)).all() == []
