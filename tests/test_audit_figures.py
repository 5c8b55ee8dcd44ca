"""Advocates' figures and retention, computed from a small hand-built history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_factories import T0, add_mention, classify, observation
from sqlalchemy import select

from collectors.base import AuthorStatus, PostStatus
from monitor.audit import record_observations
from monitor.audit.figures import removal_figures, wilson_interval
from monitor.audit.lockouts import record_lockout
from monitor.audit.retention import apply_retention
from monitor.audit.verify import verify_chain
from monitor.settings import AuditSettings, Settings
from monitor.store.models import AuditEvent, Route

FULL = {"reddit": "full"}


def _check(session, mention, status, minutes, author=AuthorStatus.ACTIVE):
    record_observations(
        session,
        source="reddit-main",
        checked_at=mention.created_at + timedelta(minutes=minutes),
        observations=[(mention, observation(mention.native_id, status, author))],
        preservation=FULL,
    )


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [(2, 4, (0.1500, 0.8500)), (0, 10, (0.0, 0.2775)), (10, 10, (0.7225, 1.0)), (1, 2, (0.0945, 0.9055))],
)
def test_wilson_interval_matches_reference_values(successes, trials, expected):
    low, high = wilson_interval(successes, trials)
    assert (round(low, 4), round(high, 4)) == expected
    assert wilson_interval(0, 0) is None


@pytest.fixture
def history(store):
    with store.session() as session:
        complaints = [add_mention(session, f"c{i}", author_id=f"a{i}") for i in range(4)]
        others = [add_mention(session, f"n{i}", author_id=f"b{i}") for i in range(6)]
        for mention in complaints:
            classify(session, mention, complaint=True)
        for mention in others:
            classify(session, mention, complaint=False)
        add_mention(session, "unclassified")
        _check(session, complaints[0], PostStatus.LIVE, 5)
        _check(session, complaints[0], PostStatus.REMOVED_BY_MODERATOR, 65)  # removed within 5–65 min
        _check(session, complaints[1], PostStatus.REMOVED_BY_PLATFORM, 125)  # within 0.5–125 min
        _check(session, complaints[1], PostStatus.LIVE, 185)  # restored: still counts as removed once
        _check(session, complaints[2], PostStatus.DELETED_BY_AUTHOR, 30)  # author deletion: not a removal
        _check(session, complaints[2], PostStatus.AUTHOR_SUSPENDED, 60 * 24 * 3, AuthorStatus.SUSPENDED)
        _check(session, others[0], PostStatus.REMOVED_BY_MODERATOR, 10)
        _check(session, others[1], PostStatus.LIVE, 60 * 24 * 40, AuthorStatus.SUSPENDED)  # too late
        record_lockout(
            session,
            mention_id=complaints[3].id,
            account="K1",
            reason="r",
            reported_by="staff",
            locked_at=T0 + timedelta(days=2),
        )
        _answer(session, complaints[2], "support_dm", "Please DM us")
        _answer(session, complaints[3], "apology", "Sorry about that")
    return store


def _answer(session, mention, template, reply):
    route = Route(
        mention_id=mention.id,
        rule="support",
        queue="support",
        priority=3,
        sla_due_at=T0 + timedelta(hours=4),
        template=template,
        reply_draft=reply,
        public_reply=True,
        first_response_at=T0 + timedelta(minutes=20),
    )
    session.add(route)


def test_removal_figures_compare_complaints_with_other_posts(history):
    with history.session() as session:
        (row,) = removal_figures(session, brand="Telvia", platform="reddit")
    counts = (row["complaints"], row["complaints_removed"], row["others"], row["others_removed"])
    assert counts == (4, 2, 6, 1)
    interval = (row["complaints_removed_ci_low"], row["complaints_removed_ci_high"])
    assert interval == pytest.approx((0.15, 0.85), abs=1e-4)
    assert row["others_removed_share"] == pytest.approx(1 / 6)
    assert row["median_removal_s"] == pytest.approx((65 + 125) / 2 * 60)
    assert row["median_removal_lower_s"] == pytest.approx((5 + 0.5) / 2 * 60)
    # a2 suspended by the platform, a3 locked out by the brand
    assert (row["complaint_authors"], row["complaint_authors_locked"]) == (4, 2)
    assert (row["other_authors"], row["other_authors_locked"]) == (6, 0)
    assert (row["dm_replies"], row["dm_then_deleted"]) == (1, 1)


def test_figures_filter_and_group_by_period(history):
    with history.session() as session:
        assert removal_figures(session, brand="Nordbahn") == []
        assert removal_figures(session, since=T0 + timedelta(days=1)) == []
        (row,) = removal_figures(session, period="month", lockout_days=1)
        with pytest.raises(ValueError, match="period 'year'"):
            removal_figures(session, period="year")
    assert row["period"] == "2026-03" and row["complaint_authors_locked"] == 0


def test_retention_purges_old_text_but_keeps_hashes_holds_and_consent(store):
    now = T0 + timedelta(days=400)
    with store.session() as session:
        old = add_mention(session, "old")
        held = add_mention(session, "held", legal_hold=True)
        consented = add_mention(session, "consented", consent=True)
        young = add_mention(session, "young", created_at=now - timedelta(days=10))
        digest = old.content_sha256
        assert apply_retention(session, Settings(), now) == 1
        assert apply_retention(session, AuditSettings(retention_days=500), now) == 0
        assert apply_retention(session, Settings(), now) == 0
        assert (old.text, old.raw, old.content_sha256, old.purged_at) == (None, None, digest, now)
        assert all(m.text is not None for m in (held, consented, young))
        event = session.scalars(select(AuditEvent)).one()
        assert event.kind == "content_purged" and digest in event.payload and "retention" in event.payload
        assert verify_chain(session).ok
