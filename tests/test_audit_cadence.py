"""Re-check cadence: adaptive by age, grid-aligned, and the order of due posts."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from audit_factories import T0, add_mention, classify

from monitor.audit.cadence import Cadence, due_mentions, next_check_at

DEFAULT = [[3600, 300], [86400, 3600], [2592000, 86400], [1e12, 604800]]


@pytest.mark.parametrize(
    ("age", "after", "expected"),
    [
        (timedelta(seconds=10), timedelta(seconds=10), timedelta(minutes=5)),  # first hour: 5-min grid
        (timedelta(minutes=59), timedelta(minutes=59, seconds=30), timedelta(hours=1)),
        (timedelta(hours=2), timedelta(hours=2, minutes=1), timedelta(hours=3)),  # first day: hourly
        (timedelta(days=3), timedelta(days=3, hours=1), timedelta(days=3, hours=15)),  # daily: UTC midnight
        # at 23 h 50 min the next hourly instant would fall past one day: the daily grid applies already
        (timedelta(hours=23, minutes=50), timedelta(hours=23, minutes=10), timedelta(days=1, hours=15)),
    ],
)
def test_next_check_is_the_next_grid_instant_of_the_age_tier(age, after, expected):
    created = T0 + after - age  # T0 is 09:00 UTC, on every grid up to hourly
    assert next_check_at(created, T0 + after, DEFAULT) == T0 + expected


def test_weekly_after_a_month_and_never_in_the_past():
    created = T0 - timedelta(days=40)
    nxt = next_check_at(created, T0, DEFAULT)
    assert timedelta(0) < nxt - T0 <= timedelta(weeks=1)
    assert nxt.timestamp() % 604800 == 0


def test_vectorised_form_matches_the_scalar_one():
    plan = Cadence.parse(DEFAULT)
    created = np.array([0.0, 100.0, 5000.0, 1e6])
    now = 1.7e9 + np.array([10.0, 4000.0, 90000.0, 5e6])
    vector = plan.next_check_epoch(created, now)
    scalar = [float(plan.next_check_epoch(c, n)) for c, n in zip(created, now, strict=True)]
    assert list(vector) == scalar


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "empty"),
        ([[3600]], r"must be \[age_up_to_s, every_s\]"),
        ([[3600, 0]], "positive"),
        ([[3600, 60], [60, 600]], "ages must increase"),
    ],
)
def test_bad_cadence_is_refused_naming_the_tier(spec, message):
    with pytest.raises(ValueError, match=message):
        Cadence.parse(spec)


def test_due_posts_complaints_first_then_young_then_overdue(store):
    now = T0 + timedelta(days=2)
    with store.session() as session:
        old_complaint = add_mention(
            session,
            "a",
            created_at=now - timedelta(days=1, hours=1),
            next_check_at=now - timedelta(minutes=1),
        )
        classify(session, old_complaint, complaint=True)
        young = add_mention(session, "b", created_at=now - timedelta(minutes=20), next_check_at=now)
        classify(session, young, complaint=False)
        add_mention(
            session, "c", created_at=now - timedelta(days=1, hours=5), next_check_at=now - timedelta(hours=2)
        )
        risky = add_mention(session, "d", created_at=now - timedelta(hours=3), next_check_at=now)
        classify(session, risky, complaint=True)
        classify(session, risky, complaint=False, risk=True)  # the latest classification counts
        reclassified = add_mention(session, "e", created_at=now - timedelta(hours=3), next_check_at=now)
        classify(session, reclassified, complaint=True)
        classify(session, reclassified, complaint=False)
        add_mention(session, "not-due", created_at=now, next_check_at=now + timedelta(seconds=1))
        add_mention(session, "never", created_at=now)
        add_mention(session, "toot", platform="mastodon", created_at=now, next_check_at=now)
        due = [m.native_id for m in due_mentions(session, now, 10, platforms=["reddit"])]
        limited = [m.native_id for m in due_mentions(session, now, 2)]
        everything = {m.native_id for m in due_mentions(session, now, 10)}
    assert due == ["d", "a", "b", "e", "c"]
    assert limited == ["d", "a"]
    assert everything == {"a", "b", "c", "d", "e", "toot"}


def test_due_mentions_can_claim_rows_with_skip_locked(store):
    with store.session() as session:
        add_mention(session, "a", next_check_at=T0)
        assert [m.native_id for m in due_mentions(session, T0, 5, skip_locked=True)] == ["a"]
        assert due_mentions(session, T0, 0) == []
