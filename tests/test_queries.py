"""The dashboard's read models, on SQLite and (with COMPLAINTWATCH_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from dashboard_fixtures import NOW, add_case, add_classification, add_mention

from collectors.base import AuthorStatus, PostStatus, StatusObservation
from monitor import queries
from monitor.audit.lockouts import record_lockout
from monitor.audit.observe import record_observations
from monitor.queries import AuditFilters, TriageFilters
from monitor.store.models import AuditEvent, OutboxMessage

DAY = NOW.date()


def _ids(page: queries.TriagePage) -> list[int]:
    return [item.route_id for item in page.items]


def test_queue_is_ordered_by_priority_then_sla_due(store):
    with store.session() as session:
        late_p3 = add_case(session, "slow", priority=3, sla_minutes=600)[2].id
        soon_p3 = add_case(session, "soon", priority=3, sla_minutes=10)[2].id
        p1 = add_case(session, "privacy", priority=1, sla_minutes=900)[2].id
    with store.session() as session:
        assert _ids(queries.triage_page(session, now=NOW)) == [p1, soon_p3, late_p3]


def test_keyset_pages_cover_the_queue_once_in_order(store):
    with store.session() as session:
        expected = [
            add_case(session, f"case {i}", priority=1 + i % 3, sla_minutes=5 + i % 4)[2].id for i in range(23)
        ]
    with store.session() as session:
        seen, cursor, pages = [], None, 0
        while True:
            page = queries.triage_page(session, after=cursor, limit=5, now=NOW)
            seen += page.items
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert pages == 5
    assert sorted(item.route_id for item in seen) == sorted(expected)
    keys = [(i.priority, i.sla_due_at, i.route_id) for i in seen]
    assert keys == sorted(keys)


def test_a_new_urgent_case_does_not_shift_the_next_page(store):
    with store.session() as session:
        for i in range(6):
            add_case(session, f"case {i}", priority=3, sla_minutes=10 + i)
    with store.session() as session:
        first = queries.triage_page(session, limit=3, now=NOW)
        add_case(session, "urgent", priority=1)
    with store.session() as session:
        second = queries.triage_page(session, after=first.next_cursor, limit=3, now=NOW)
    assert not set(_ids(first)) & set(_ids(second))
    assert [i.text for i in second.items] == ["case 3", "case 4", "case 5"]


def test_default_queue_hides_resolved_handed_off_and_sleeping_cases(store):
    with store.session() as session:
        open_ = add_case(session, "open")[2].id
        assigned = add_case(session, "assigned", state="assigned", assignee="ann")[2].id
        add_case(session, "done", state="resolved")
        add_case(session, "gone private", state="handed_off")
        add_case(session, "asleep", state="snoozed", snoozed_until=NOW + timedelta(hours=1))
        awake = add_case(session, "awake", state="snoozed", snoozed_until=NOW - timedelta(minutes=1))[2].id
    with store.session() as session:
        assert set(_ids(queries.triage_page(session, now=NOW))) == {open_, assigned, awake}
        resolved = queries.triage_page(session, TriageFilters(states=("resolved",)), now=NOW)
        assert [i.text for i in resolved.items] == ["done"]


@pytest.mark.parametrize(
    "filters, expected",
    [
        (TriageFilters(brands=("Beta",)), {"beta"}),
        (TriageFilters(platforms=("reddit",)), {"reddit"}),
        (TriageFilters(langs=("de",)), {"german"}),
        (TriageFilters(topics=("delivery",)), {"delivery"}),
        (TriageFilters(risk_only=True), {"lawyer"}),
        (TriageFilters(pii_only=True), {"phone"}),
        (TriageFilters(assignee="ann"), {"ann's"}),
        (
            TriageFilters(assignee=queries.UNASSIGNED),
            {"beta", "reddit", "german", "delivery", "lawyer", "phone", "old"},
        ),
        (
            TriageFilters(since=NOW - timedelta(days=1)),
            {"beta", "reddit", "german", "delivery", "lawyer", "phone", "ann's"},
        ),
        (TriageFilters(until=NOW - timedelta(days=1)), {"old"}),
        (TriageFilters(brands=("Beta",), platforms=("reddit",)), set()),
    ],
)
def test_filters(store, filters, expected):
    with store.session() as session:
        add_case(session, "beta", brand="Beta")
        add_case(session, "reddit", platform="reddit")
        add_case(session, "german", lang="de")
        add_case(session, "delivery", topic="delivery")
        add_case(session, "lawyer", legal_threat=True)
        add_case(session, "phone", pii=[{"type": "phone", "start": 0, "end": 5}])
        add_case(session, "ann's", state="assigned", assignee="ann")
        add_case(session, "old", created_at=NOW - timedelta(days=3))
    with store.session() as session:
        assert {i.text for i in queries.triage_page(session, filters, now=NOW).items} == expected


def test_unknown_state_filter_is_refused():
    with pytest.raises(ValueError, match="unknown route state"):
        TriageFilters(states=("closed",))


def test_item_carries_the_newest_classification(store):
    with store.session() as session:
        mention, _, route = add_case(session, "my bill is wrong", topic="billing")
        add_classification(
            session, mention, topic="delivery", evidence={"complaint": [{"start": 3, "end": 7}]}
        )
    with store.session() as session:
        item = queries.triage_item(session, route.id)
        assert queries.triage_item(session, 999_999) is None
    assert item is not None
    assert item.topic == "delivery"
    assert item.evidence == {"complaint": [{"start": 3, "end": 7}]}


def test_sla_clock(store):
    with store.session() as session:
        route_id = add_case(session, "x", sla_minutes=30, first_response_after=timedelta(minutes=45))[2].id
        unanswered = add_case(session, "y", sla_minutes=30)[2].id
    with store.session() as session:
        answered_late = queries.triage_item(session, route_id)
        waiting = queries.triage_item(session, unanswered)
    assert answered_late.sla_breached(NOW)
    assert not waiting.sla_breached(NOW + timedelta(minutes=29))
    assert waiting.sla_breached(NOW + timedelta(minutes=31))
    assert waiting.sla_left(NOW) == timedelta(minutes=30)


def test_queue_counts_and_filter_options(store):
    with store.session() as session:
        add_case(session, "a", brand="Acme", sla_minutes=5)
        add_case(
            session, "b", brand="Beta", platform="reddit", state="assigned", assignee="ann", topic="delivery"
        )
        add_case(session, "c", state="resolved", lang="de")
    with store.session() as session:
        counts = queries.queue_counts(session, now=NOW + timedelta(minutes=10))
        options = queries.filter_options(session)
    assert counts == {"open": 1, "assigned": 1, "snoozed": 0, "overdue": 1}
    assert counts["overdue"] == 1
    assert options.brands == ["Acme", "Beta"]
    assert options.platforms == ["reddit", "replay"]
    assert options.langs == ["en"]  # of the cases still waiting: the German one is resolved
    assert {"billing", "delivery", "privacy_data"} <= set(options.topics)
    assert options.queues == ["support"]


def _status_event(session, mention, seq: int, status: str, previous: str = "live", **extra) -> None:
    payload = {
        "brand": mention.brand,
        "platform": mention.platform,
        "status": status,
        "previous_status": previous,
    }
    payload.update(extra)
    session.add(
        AuditEvent(
            seq=seq,
            kind=extra.pop("kind", "post_status_changed"),
            subject=f"{mention.platform}:{mention.native_id}",
            mention_id=mention.id,
            occurred_at=NOW + timedelta(minutes=seq),
            recorded_at=NOW + timedelta(minutes=seq),
            actor="system",
            payload=json.dumps(payload),
            prev_hash=f"{seq - 1:064d}",
            hash=f"{seq:064d}",
        )
    )


@pytest.fixture
def audited(store):
    """Three status transitions written straight into the log table (the chain itself is not under test)."""
    with store.session() as session:
        acme = add_mention(session, "acme post", brand="Acme", post_status="removed_by_moderator")
        beta = add_mention(
            session, "beta post", brand="Beta", platform="reddit", post_status="deleted_by_author"
        )
        _status_event(
            session, acme, 1, "removed_by_moderator", verdict="removed_by_moderator", evidence_level="unknown"
        )
        _status_event(
            session,
            beta,
            2,
            "deleted_by_author",
            verdict="deleted_by_author",
            evidence_level="platform_stated",
        )
        _status_event(session, acme, 3, "restored", "removed_by_moderator", evidence_level="platform_stated")
    return store


def test_status_changes_newest_first_with_verdict_and_evidence(audited):
    with audited.session() as session:
        rows = queries.status_changes(session)
    assert [r["status"] for r in rows] == ["restored", "deleted_by_author", "removed_by_moderator"]
    assert rows[1]["evidence_level"] == "platform_stated"
    assert rows[2]["verdict"] == "removed_by_moderator"
    assert rows[2]["brand"] == "Acme"


def test_status_changes_filters(audited):
    with audited.session() as session:
        by_brand = queries.status_changes(session, AuditFilters(brands=("Beta",)))
        by_status = queries.status_changes(session, AuditFilters(statuses=("removed_by_moderator",)))
        by_time = queries.status_changes(session, AuditFilters(since=NOW + timedelta(minutes=2)))
    assert [r["status"] for r in by_brand] == ["deleted_by_author"]
    assert [r["seq"] for r in by_status] == [1]
    assert [r["seq"] for r in by_time] == [3, 2]


def test_brand_lockouts_are_listed_as_reported(store):
    with store.session() as session:
        mention = add_mention(session, "they locked my account")
        record_lockout(
            session,
            mention_id=mention.id,
            account="cust-1",
            reason="fraud check",
            reported_by="consumer",
            locked_at=NOW,
        )
    with store.session() as session:
        (row,) = queries.status_changes(session)
    assert (row["what"], row["status"], row["evidence_level"]) == (
        "brand account",
        "locked_by_brand",
        "reported",
    )
    assert row["basis"] == "fraud check (reported by consumer)"
    assert row["lockout"] is True


def test_status_history_is_the_coverage_record(store):
    with store.session() as session:
        mention = add_mention(session, "watch me")
        for minutes, status in (
            (10, PostStatus.LIVE),
            (20, PostStatus.UNKNOWN),
            (30, PostStatus.DELETED_BY_AUTHOR),
        ):
            record_observations(
                session,
                source="replay-test",
                checked_at=NOW + timedelta(minutes=minutes),
                observations=[(mention, StatusObservation(mention.native_id, status, AuthorStatus.ACTIVE))],
                preservation={"replay": "full"},
            )
    with store.session() as session:
        history = queries.status_history(session, mention.id)
        assert queries.status_history(session, 999_999) == []
    assert [h["status"] for h in history] == ["live", "unknown", "deleted_by_author"]
    assert history[0]["checked_at"] == NOW + timedelta(minutes=10)


def test_case_figures_median_p90_breaches_resolution(store):
    with store.session() as session:
        for minutes in (10, 20, 30, 40, 100):
            add_case(session, f"r{minutes}", sla_minutes=35, first_response_after=timedelta(minutes=minutes))
        add_case(
            session,
            "handed",
            brand="Beta",
            handoff_after=timedelta(minutes=8),
            resolved_after=timedelta(hours=1),
        )
        add_case(session, "other day", created_at=NOW - timedelta(days=40))
    with store.session() as session:
        (total,) = queries.case_figures(session, DAY - timedelta(days=1), DAY)
        by_brand = queries.case_figures(session, DAY, DAY, "brand")
    assert total.cases == 6
    assert total.responded == 5
    assert total.first_response_median_min == 30
    assert total.first_response_p90_min == 100
    assert total.handoffs == 1 and total.handoff_median_min == 8
    # Two answered after the 35-minute SLA, and the unanswered case is long past it.
    assert total.sla_breaches == 3
    assert total.resolved == 1 and total.resolution_rate == pytest.approx(1 / 6)
    assert [(f.group, f.cases) for f in by_brand] == [("Acme", 5), ("Beta", 1)]


def test_volume_and_complaint_share(store):
    with store.session() as session:
        for text, complaint, brand in [("a", True, "Acme"), ("b", False, "Acme"), ("c", True, "Beta")]:
            add_classification(session, add_mention(session, text, brand=brand), complaint=complaint)
        add_mention(session, "unclassified", brand="Acme")
    with store.session() as session:
        rows = queries.volume(session, DAY, DAY, "brand")
    assert rows == [
        {
            "day": DAY,
            "brand": "Acme",
            "mentions": 3,
            "complaints": 1,
            "complaint_share": pytest.approx(1 / 3),
        },
        {"day": DAY, "brand": "Beta", "mentions": 1, "complaints": 1, "complaint_share": 1.0},
    ]


def test_removal_rates_by_platform_and_topic(store):
    with store.session() as session:
        for status, platform in [
            ("removed_by_platform", "reddit"),
            ("live", "reddit"),
            ("deleted_by_author", "replay"),
        ]:
            add_classification(
                session, add_mention(session, "x", platform=platform, post_status=status), topic="billing"
            )
    with store.session() as session:
        by_platform = queries.removal_rates(session, DAY, DAY, "platform")
        by_topic = queries.removal_rates(session, DAY, DAY, "topic")
    # Deleted by its author is not a removal.
    assert by_platform == [
        {"platform": "reddit", "posts": 2, "removed": 1, "removal_rate": 0.5},
        {"platform": "replay", "posts": 1, "removed": 0, "removal_rate": 0.0},
    ]
    assert by_topic == [{"topic": "billing", "posts": 3, "removed": 1, "removal_rate": pytest.approx(1 / 3)}]


def test_bad_ranges_and_dimensions_are_refused(store):
    with store.session() as session:
        with pytest.raises(ValueError, match=r"ends .* before it starts"):
            queries.volume(session, DAY, DAY - timedelta(days=1))
        with pytest.raises(ValueError, match="unknown dimension 'colour'"):
            queries.case_figures(session, DAY, DAY, "colour")


def test_dead_letters(store):
    with store.session() as session:
        route = add_case(session, "x")[2]
        for i, state in enumerate(["dead", "sent", "dead"]):
            session.add(
                OutboxMessage(
                    route_id=route.id,
                    destination="support",
                    kind="handoff",
                    payload={},
                    idempotency_key=f"k{i}",
                    state=state,
                    attempts=8,
                    last_error="HTTP 500",
                    created_at=NOW + timedelta(minutes=i),
                )
            )
    with store.session() as session:
        dead = queries.dead_letters(session)
        counts = queries.outbox_counts(session)
    assert [d["attempts"] for d in dead] == [8, 8] and dead[0]["created_at"] > dead[1]["created_at"]
    assert counts == {"dead": 2, "sent": 1}
