"""record_observations: checks, transitions, verdicts, restoration and preservation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from audit_factories import T0, add_mention, observation
from sqlalchemy import select

from collectors.base import AuthorStatus, PostStatus
from monitor.audit import record_observations
from monitor.audit.canonical import json_sha256
from monitor.audit.verify import verify_chain
from monitor.store.models import AuditEvent, Mention, StatusCheck

PRESERVATION = {"reddit": "hash_only", "mastodon": "full", "bluesky": "consent"}


def _record(session, pairs, at, **kwargs):
    return record_observations(
        session, source="src", checked_at=at, observations=pairs, preservation=PRESERVATION, **kwargs
    )


def _events(session):
    return [
        (e.kind, json.loads(e.payload)) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def test_live_check_updates_state_without_an_event(store):
    with store.session() as session:
        mention = add_mention(session, "p1")
        count = _record(session, [(mention, observation("p1"))], T0 + timedelta(minutes=5))
        assert count == 0
        assert (mention.check_count, mention.last_seen_live_at) == (1, T0 + timedelta(minutes=5))
        assert mention.next_check_at == T0 + timedelta(minutes=10)
        assert _events(session) == []
        check = session.scalars(select(StatusCheck)).one()
        assert (check.status, check.source, check.evidence["id"]) == ("live", "src", "p1")


def test_platform_stated_removal_keeps_content_on_a_full_platform(store):
    with store.session() as session:
        mention = add_mention(session, "m1", platform="mastodon")
        _record(session, [(mention, observation("m1"))], T0 + timedelta(minutes=5))
        gone = observation("m1", PostStatus.REMOVED_BY_MODERATOR, platform_stated=True, detail="moderator")
        assert _record(session, [(mention, gone)], T0 + timedelta(minutes=10)) == 1
        ((kind, payload),) = _events(session)
    assert kind == "post_status_changed"
    assert payload["previous_status"] == "live" and payload["status"] == "removed_by_moderator"
    assert payload["window"] == {"from": "2026-03-02T09:05:00.000000Z", "to": "2026-03-02T09:10:00.000000Z"}
    assert payload["evidence_level"] == "platform_stated"
    assert payload["evidence"] == dict(gone.evidence)
    assert payload["evidence_sha256"] == json_sha256(dict(gone.evidence))
    assert mention.text is not None and mention.purged_at is None


def test_author_deletion_on_hash_only_platform_purges_but_keeps_hashes(store):
    with store.session() as session:
        mention = add_mention(session, "r1", platform="reddit")
        content_hash = mention.content_sha256
        _record(session, [(mention, observation("r1"))], T0 + timedelta(minutes=5))
        gone = observation("r1", PostStatus.DELETED_BY_AUTHOR, platform_stated=True)
        assert _record(session, [(mention, gone)], T0 + timedelta(minutes=10)) == 1
        events = _events(session)
        checks = session.scalars(select(StatusCheck).order_by(StatusCheck.id)).all()
        assert [c.evidence.get("purged") for c in checks] == [True, True]
        result = verify_chain(session)
    assert [kind for kind, _ in events] == ["post_status_changed", "content_purged"]
    transition, purge = events[0][1], events[1][1]
    assert transition["evidence"] is None and transition["evidence_sha256"] == json_sha256(
        dict(gone.evidence)
    )
    assert purge["content_sha256"] == content_hash
    assert (mention.text, mention.raw, mention.content_sha256) == (None, None, content_hash)
    assert mention.purged_at == T0 + timedelta(minutes=10)
    assert result.ok, result.message


@pytest.mark.parametrize("flag", ["legal_hold", "consent"])
def test_legal_hold_or_consent_prevents_the_purge(store, flag):
    with store.session() as session:
        mention = add_mention(session, "r2", platform="reddit", **{flag: True})
        _record(
            session, [(mention, observation("r2", PostStatus.DELETED_BY_AUTHOR))], T0 + timedelta(minutes=5)
        )
        assert mention.text is not None and mention.purged_at is None
        assert [kind for kind, _ in _events(session)] == ["post_status_changed"]


def test_moderator_removal_on_hash_only_platform_is_not_purged(store):
    with store.session() as session:
        mention = add_mention(session, "r3", platform="reddit")
        _record(
            session, [(mention, observation("r3", PostStatus.REMOVED_BY_MODERATOR))], T0 + timedelta(hours=1)
        )
        assert mention.text is not None


def test_post_coming_back_is_restored_never_undeleted(store):
    with store.session() as session:
        mention = add_mention(session, "b1", platform="bluesky")
        steps = [
            (PostStatus.REMOVED_BY_PLATFORM, 5),
            (PostStatus.LIVE, 65),
            (PostStatus.LIVE, 125),
            (PostStatus.DELETED_BY_AUTHOR, 185),
        ]
        counts = [
            _record(session, [(mention, observation("b1", s))], T0 + timedelta(minutes=m)) for s, m in steps
        ]
        events = _events(session)
    assert counts == [1, 1, 0, 1]
    assert [(p["previous_status"], p["status"]) for _, p in events] == [
        ("live", "removed_by_platform"),
        ("removed_by_platform", "restored"),
        ("restored", "deleted_by_author"),
    ]
    assert events[1][1]["window"]["from"] == "2026-03-02T09:05:00.000000Z"
    assert mention.post_status == "deleted_by_author" and mention.purged_at is None  # consent platform


def test_unknown_observation_is_recorded_but_changes_nothing(store):
    with store.session() as session:
        mention = add_mention(session, "m2", platform="mastodon")
        unknown = observation("m2", PostStatus.UNKNOWN, AuthorStatus.UNKNOWN)
        assert _record(session, [(mention, unknown)], T0 + timedelta(minutes=5)) == 0
        assert (mention.post_status, mention.author_status, mention.check_count) == ("live", "active", 1)
        assert mention.last_seen_live_at is None
        assert session.scalars(select(StatusCheck.status)).all() == ["unknown"]


def test_removal_within_seconds_is_inferred_automatic(store):
    with store.session() as session:
        mention = add_mention(session, "m3", platform="mastodon")
        _record(
            session,
            [(mention, observation("m3", PostStatus.REMOVED_BY_PLATFORM))],
            T0 + timedelta(seconds=40),
        )
        late = add_mention(session, "m4", platform="mastodon")
        _record(session, [(late, observation("m4", PostStatus.REMOVED_BY_PLATFORM))], T0 + timedelta(hours=3))
        (_, fast), (_, slow) = _events(session)
    assert fast["evidence_level"] == "inferred" and "automatic" in fast["verdict_basis"]
    assert slow["evidence_level"] == "unknown"


def test_author_suspension_is_a_lockout_event(store):
    with store.session() as session:
        mention = add_mention(session, "m5", platform="mastodon")
        suspended = observation(
            "m5", PostStatus.AUTHOR_SUSPENDED, AuthorStatus.SUSPENDED, platform_stated=True
        )
        assert _record(session, [(mention, suspended)], T0 + timedelta(minutes=5)) == 2
        events = _events(session)
    assert [kind for kind, _ in events] == ["post_status_changed", "author_status_changed"]
    author = events[1][1]
    assert (author["previous_status"], author["status"], author["lockout"]) == ("active", "suspended", True)
    assert author["evidence_level"] == "platform_stated"
    assert mention.author_status == "suspended"


def test_mismatched_pair_and_unknown_policy_are_refused(store):
    with store.session() as session:
        mention = add_mention(session, "m6", platform="mastodon")
        with pytest.raises(ValueError, match="paired with mention"):
            _record(session, [(mention, observation("other"))], T0)
        with pytest.raises(ValueError, match=r"audit.preservation.mastodon = 'keep'"):
            record_observations(
                session,
                source="s",
                checked_at=T0,
                observations=[(mention, observation("m6"))],
                preservation={"mastodon": "keep"},
            )


def test_many_observations_in_one_run_chain_in_order(store):
    with store.session() as session:
        mentions = [add_mention(session, f"x{i}", platform="mastodon") for i in range(20)]
        pairs = [(m, observation(m.native_id, PostStatus.DELETED_BY_AUTHOR)) for m in mentions]
        assert _record(session, pairs, T0 + timedelta(minutes=5)) == 20
        subjects = [e.subject for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert subjects == [f"mastodon:x{i}" for i in range(20)]
        assert verify_chain(session).ok
    with store.session() as session:
        assert (
            session.scalar(select(Mention.post_status).where(Mention.native_id == "x3"))
            == "deleted_by_author"
        )
