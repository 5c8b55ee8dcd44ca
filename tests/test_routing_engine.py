"""route_pending: rules → routes + outbox rows in one transaction, drafts that never leak personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_factories import HOTLINE, T0, add_tagged, make_config
from sqlalchemy import select

from monitor.config import ConfigError
from monitor.routing import route_pending
from monitor.routing.outbox import idempotency_key
from monitor.routing.rules import compile_rules
from monitor.settings import DestinationSettings, RoutingRuleSettings
from monitor.store.models import AuditEvent, Classification, Mention, OutboxMessage, Route

NOW = T0 + timedelta(minutes=5)
PHONE = "0171 2345678"
IBAN = "DE89 3704 0044 0532 0130 00"
PII_TEXT = f"Telvia bucht doppelt ab! Ruft mich an unter {PHONE}, meine IBAN ist {IBAN}."


def _routes(session) -> list[Route]:
    return list(session.scalars(select(Route).order_by(Route.id)))


def _outbox(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_complaint_goes_to_support_and_everything_examined_is_marked(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        complaint = add_tagged(session, "1")
        praise = add_tagged(session, "2", "Telvia ist super", complaint=False, topic=None)
        unclassified = add_tagged(session, "3", classified=False)
    with store.session() as session:
        assert route_pending(session, config, NOW) == 1
    with store.session() as session:
        (route,) = _routes(session)
        assert (route.mention_id, route.queue, route.rule, route.priority) == (
            complaint.id,
            "support",
            "support",
            3,
        )
        assert route.sla_due_at == T0 + timedelta(minutes=240)  # from the post's time, not collection
        assert route.state == "open" and route.public_reply and route.destination == ""
        assert route.reply_draft.startswith("@anna@social.example Das tut uns leid!")
        assert f"CW-{route.id}" in route.reply_draft and HOTLINE in route.reply_draft
        assert _outbox(session) == []  # no destination: dashboard only
        routed = {m.id: m.routed_at for m in session.scalars(select(Mention))}
        assert routed == {complaint.id: NOW, praise.id: NOW, unclassified.id: None}
    with store.session() as session:
        assert route_pending(session, config, NOW) == 0  # examined once


def test_exposed_personal_data_gets_a_private_handoff_and_a_public_reply_that_never_quotes_it(
    store, database_url
):
    config = make_config(
        database_url, destinations=[DestinationSettings(name="privacy", kind="webhook", url="x")]
    )
    with store.session() as session:
        mention = add_tagged(session, "1", PII_TEXT, pii=[("phone", PHONE), ("iban", IBAN)])
        non_complaint = add_tagged(
            session, "2", f"Meine Nummer ist {PHONE}", complaint=False, lang="en", pii=[("phone", PHONE)]
        )
        route_pending(session, config, NOW)
    with store.session() as session:
        first, second = _routes(session)
        assert (first.queue, first.priority, first.rule) == ("privacy", 1, "privacy")
        assert first.sla_due_at == T0 + timedelta(minutes=15)
        assert second.mention_id == non_complaint.id and second.queue == "privacy"  # PII alone is enough
        assert "persönlichen Daten" in first.reply_draft and "personal data" in second.reply_draft
        handoffs = _outbox(session)
        assert [(m.route_id, m.destination, m.kind, m.state) for m in handoffs] == [
            (first.id, "privacy", "handoff", "pending"),
            (second.id, "privacy", "handoff", "pending"),
        ]
        assert handoffs[0].idempotency_key == idempotency_key(first.id, "privacy", "handoff")
        assert handoffs[0].payload["post"]["text"] == mention.text  # the private channel gets the post
        assert handoffs[0].payload["tags"]["pii_types"] == ["iban", "phone"]
        for public in (first.reply_draft, second.reply_draft, handoffs[0].payload["case"]["reply_draft"]):
            for secret in (PHONE, IBAN, "2345678", "0532 0130"):
                assert secret not in public


def test_pii_that_reaches_a_template_variable_is_masked(store, database_url):
    # A handle that is itself the exposed e-mail address must not be published either.
    config = make_config(database_url)
    with store.session() as session:
        add_tagged(
            session,
            "1",
            "Schreibt an anna.b@mail.example",
            platform="reddit",
            handle="anna.b@mail.example",
            pii=[("email", "anna.b@mail.example")],
        )
        add_tagged(session, "2", f"Ruft {PHONE} an", handle="", pii=[("phone", PHONE)])
        route_pending(session, config, NOW)
        first, second = _routes(session)
        assert "anna.b" not in first.reply_draft and first.reply_draft.startswith(
            "u/[…] Zu deiner Sicherheit"
        )
        assert second.reply_draft.startswith("Zu deiner Sicherheit")


def test_legal_risk_goes_to_review_and_is_never_auto_sent(store, database_url):
    auto = RoutingRuleSettings(name="auto", when={"brand": "Telvia"}, queue="support", auto_send=True)
    config = make_config(database_url, rules=[auto])
    with store.session() as session:
        add_tagged(session, "1", "Telvia, ich verklage euch!", risk=["legal_threat"])
        add_tagged(session, "2", "Telvia, Internet weg", lang="en")
        route_pending(session, config, NOW)
    with store.session() as session:
        risky, plain = _routes(session)
        assert (risky.rule, risky.approved_by) == ("auto", None)
        assert (plain.rule, plain.approved_by, plain.approved_at) == ("auto", "system", NOW)
        (reply,) = _outbox(session)
        assert (reply.route_id, reply.kind, reply.destination) == (plain.id, "reply", "reply:mastodon")
        assert reply.payload["text"] == plain.reply_draft and reply.payload["in_reply_to"] == "2"
        (approval,) = session.scalars(select(AuditEvent).where(AuditEvent.kind == "reply_approved"))
        assert (approval.actor, approval.mention_id, approval.subject) == (
            "system",
            plain.mention_id,
            f"route:{plain.id}",
        )


def test_default_legal_rule(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        add_tagged(
            session, "1", "Das ist Betrug, Telvia", complaint=False, risk=["defamation_risk"], lang="en"
        )
        add_tagged(session, "2", "Telvia, ich gehe zur BNetzA", risk=["regulator"])
        add_tagged(session, "3", "Telvia ihr Idioten", complaint=False, risk=["insult"])
        assert route_pending(session, config, NOW) == 2
        legal, regulator = _routes(session)
        assert (legal.queue, legal.template, legal.priority) == ("legal_review", "legal_holding", 2)
        assert legal.reply_draft.startswith("@anna@social.example Thank you for your message.")
        assert (regulator.rule, regulator.queue, regulator.priority) == ("regulator", "support", 2)


def test_config_rules_come_first_and_defaults_can_be_turned_off(store, database_url):
    rules = [
        RoutingRuleSettings(
            name="billing-de",
            when={"topic": ["billing"], "lang": "DE", "min_score": 0.8},
            queue="billing",
            priority=2,
            sla_minutes=30,
            template="support_dm",
        ),
    ]
    config = make_config(database_url, rules=rules, use_default_rules=False)
    with store.session() as session:
        add_tagged(session, "1", topic="billing")
        add_tagged(session, "2", topic="billing", score=0.5)
        add_tagged(session, "3", topic="outage")
        assert route_pending(session, config, NOW) == 1
        (route,) = _routes(session)
        assert (route.rule, route.queue, route.sla_due_at) == (
            "billing-de",
            "billing",
            T0 + timedelta(minutes=30),
        )


def test_a_mention_requeued_after_retagging_keeps_its_one_case(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        mention = add_tagged(session, "1")
        route_pending(session, config, NOW)
        mention.routed_at = None  # what a re-classification with a newer model does
        assert route_pending(session, config, NOW + timedelta(hours=1)) == 0
        assert len(_routes(session)) == 1 and mention.routed_at == NOW + timedelta(hours=1)


def test_language_fallback_is_english(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        add_tagged(session, "1", "Telvia, internet ne marche pas", lang="fr")
        route_pending(session, config, NOW)
        (route,) = _routes(session)
        assert "We're sorry to hear that!" in route.reply_draft


def test_the_newest_classification_decides(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        mention = add_tagged(session, "1")
        newer = Classification(
            mention_id=mention.id,
            model_version="v2",
            complaint=False,
            tags={"lang": "de"},
            scores={},
            evidence={},
        )
        session.add(newer)
        session.flush()
        assert route_pending(session, config, NOW) == 0


def test_route_and_outbox_commit_together_or_not_at_all(store, database_url):
    config = make_config(
        database_url, destinations=[DestinationSettings(name="support", kind="webhook", url="x")]
    )
    with store.session() as session:
        add_tagged(session, "1")
    with pytest.raises(RuntimeError), store.session() as session:
        assert route_pending(session, config, NOW) == 1
        assert len(_outbox(session)) == 1
        raise RuntimeError("crash before commit")
    with store.session() as session:
        assert _routes(session) == [] and _outbox(session) == []
        assert session.scalar(select(Mention.routed_at)) is None
        assert route_pending(session, config, NOW) == 1 and len(_outbox(session)) == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            RoutingRuleSettings(name="r", when={"colour": "red"}),
            "routing.rules[0].when.colour: unknown condition",
        ),
        (RoutingRuleSettings(name="r", when={"tags": ["rude"]}), "unknown tag(s) rude"),
        (RoutingRuleSettings(name="r", when={"pii": "yes"}), "when.pii: expected true or false"),
        (RoutingRuleSettings(name="r", when={"min_score": 2}), "expected a number from 0 to 1"),
        (
            RoutingRuleSettings(name="r", template="nope"),
            "routing.rules[0].template: unknown template 'nope'",
        ),
        (RoutingRuleSettings(name="r", priority=9), "priority: 9 is above the maximum 5"),
    ],
)
def test_bad_rules_are_refused_with_their_place(database_url, rule, message):
    with pytest.raises(
        ConfigError,
        match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)"),
    ):
        compile_rules(make_config(database_url, rules=[rule]))


def test_idempotency_key_is_stable_and_distinct():
    assert idempotency_key(7, "support", "handoff") == idempotency_key(7, "support", "handoff")
    keys = {
        idempotency_key(7, "support", "handoff"),
        idempotency_key(7, "legal", "handoff"),
        idempotency_key(7, "support", "reply"),
        idempotency_key(8, "support", "handoff"),
    }
    assert len(keys) == 4
